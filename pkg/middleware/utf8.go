package middleware

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/oof-gg/platform/pkg/apperr"
	"github.com/oof-gg/platform/pkg/grpcx"
)

// RejectInvalidUTF8 answers INVALID_ARGUMENT, naming the fields, for a
// request grpcx.Codec decoded without its strings that are not UTF-8 (which
// gRPC's own codec answers INTERNAL). It must run inside MapErrors.
func RejectInvalidUTF8() (grpc.UnaryServerInterceptor, grpc.StreamServerInterceptor) {
	unary := func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		if err := invalidUTF8(req); err != nil {
			return nil, err
		}
		return h(ctx, req)
	}
	stream := func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		return h(srv, utf8CheckedStream{ss})
	}
	return unary, stream
}

// utf8CheckedStream applies the check to every message a stream receives.
type utf8CheckedStream struct{ grpc.ServerStream }

func (s utf8CheckedStream) RecvMsg(m any) error {
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	return invalidUTF8(m)
}

func invalidUTF8(m any) error {
	pm, ok := m.(proto.Message)
	if !ok {
		return nil
	}
	fields := grpcx.InvalidUTF8Fields(pm)
	if len(fields) == 0 {
		return nil
	}
	v := make([]apperr.FieldViolation, len(fields))
	for i, f := range fields {
		v[i] = apperr.FieldViolation{Field: f, Description: "must be valid UTF-8"}
	}
	return apperr.InvalidFields(v)
}
