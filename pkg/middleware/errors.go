package middleware

import (
	"context"
	"log/slog"
	"runtime/debug"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/oof-gg/platform/pkg/apperr"
)

// Recover turns a handler panic into INTERNAL and logs it with its stack,
// so one bad request cannot take the process down.
func Recover(log *slog.Logger) (grpc.UnaryServerInterceptor, grpc.StreamServerInterceptor) {
	recovered := func(method string, r any) error {
		log.Error("panic in handler", "method", method, "panic", r, "stack", string(debug.Stack()))
		return status.Error(codes.Internal, "internal error")
	}
	unary := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (resp any, err error) {
		defer func() {
			if r := recover(); r != nil {
				resp, err = nil, recovered(info.FullMethod, r)
			}
		}()
		return h(ctx, req)
	}
	stream := func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = recovered(info.FullMethod, r)
			}
		}()
		return h(srv, ss)
	}
	return unary, stream
}

// MapErrors converts handler errors into gRPC statuses, once, at the edge.
// Unclassified errors are logged with their cause and shown as INTERNAL.
func MapErrors(log *slog.Logger) (grpc.UnaryServerInterceptor, grpc.StreamServerInterceptor) {
	convert := func(ctx context.Context, method string, err error) error {
		if err == nil {
			return nil
		}
		st := apperr.ToStatus(err)
		if st.Code() == codes.Internal || st.Code() == codes.Unavailable {
			log.ErrorContext(ctx, "request failed", "method", method, "code", st.Code().String(), "err", err)
		}
		return st.Err()
	}
	unary := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		resp, err := h(ctx, req)
		return resp, convert(ctx, info.FullMethod, err)
	}
	stream := func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		return convert(ss.Context(), info.FullMethod, h(srv, ss))
	}
	return unary, stream
}
