package apperr

import (
	"context"
	"errors"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

var kindCodes = map[Kind]codes.Code{
	KindInternal:           codes.Internal,
	KindInvalid:            codes.InvalidArgument,
	KindUnauthenticated:    codes.Unauthenticated,
	KindPermissionDenied:   codes.PermissionDenied,
	KindNotFound:           codes.NotFound,
	KindAlreadyExists:      codes.AlreadyExists,
	KindFailedPrecondition: codes.FailedPrecondition,
	KindAborted:            codes.Aborted,
	KindResourceExhausted:  codes.ResourceExhausted,
	KindUnavailable:        codes.Unavailable,
	KindOutOfRange:         codes.OutOfRange,
}

// Code is the gRPC code for an error (OK for nil).
func Code(err error) codes.Code {
	if err == nil {
		return codes.OK
	}
	var e *Error
	if errors.As(err, &e) {
		return kindCode(e.Kind)
	}
	if s, ok := status.FromError(err); ok {
		return s.Code()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return codes.DeadlineExceeded
	}
	if errors.Is(err, context.Canceled) {
		return codes.Canceled
	}
	return kindCode(KindOf(err))
}

// kindCode never answers OK for an error, whatever its kind.
func kindCode(k Kind) codes.Code {
	if c, ok := kindCodes[k]; ok {
		return c
	}
	return codes.Internal
}

// ToStatus converts any error into the gRPC status the client sees. Internal
// causes are never leaked: only Error.Message of a classified error is shown.
func ToStatus(err error) *status.Status {
	if err == nil {
		return status.New(codes.OK, "")
	}
	// An error that is itself a finished status (with its body details)
	// goes out as it is; its cause stays in Error() for the logs.
	if f, ok := err.(interface{ GRPCStatus() *status.Status }); ok {
		return f.GRPCStatus()
	}
	// A classified error decides what the client sees, even when its cause
	// is a gRPC status from a downstream call (that would leak its text).
	var e *Error
	if !errors.As(err, &e) {
		if s, ok := status.FromError(err); ok {
			return s
		}
		code := Code(err)
		if code == codes.Internal {
			return status.New(codes.Internal, "internal error")
		}
		return status.New(code, code.String())
	}
	st := status.New(kindCode(e.Kind), e.Message)
	switch {
	case len(e.Fields) > 0:
		br := &errdetails.BadRequest{}
		for _, f := range e.Fields {
			br.FieldViolations = append(br.FieldViolations,
				&errdetails.BadRequest_FieldViolation{Field: f.Field, Description: f.Description})
		}
		if withDetails, derr := st.WithDetails(br); derr == nil {
			st = withDetails
		}
	case e.RetryAfter > 0:
		if withDetails, derr := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(e.RetryAfter)}); derr == nil {
			st = withDetails
		}
	}
	return st
}
