// Package idempotency carries a client's idempotency key from the edge to
// the command that honours it. A client that does not know whether its
// create reached us (a timeout, a dropped connection) retries with the same
// key and gets the first outcome instead of a second object.
package idempotency

import (
	"context"
	"github.com/oof-gg/platform/pkg/headers"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/oof-gg/platform/pkg/apperr"
)

// Header is the request metadata that carries the key; ReplayHeader is set
// on an answer that repeats an earlier outcome.
const (
	Header       = headers.IdempotencyKey
	ReplayHeader = headers.IdempotentReplay
	MaxKeyLen    = 128
)

type keyCtx struct{}

// WithKey returns ctx carrying key (callers outside gRPC, e.g. a CLI, set
// it directly).
func WithKey(ctx context.Context, key string) context.Context {
	return context.WithValue(ctx, keyCtx{}, key)
}

// KeyFrom returns the key ctx carries, or "".
func KeyFrom(ctx context.Context) string {
	k, _ := ctx.Value(keyCtx{}).(string)
	return k
}

// Check reports whether key is usable: 1 to MaxKeyLen visible ASCII
// characters (a UUID is the usual choice).
func Check(key string) error {
	if key == "" || len(key) > MaxKeyLen {
		return apperr.Invalid(Header, "must be 1 to 128 visible ASCII characters")
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x21 || key[i] > 0x7e {
			return apperr.Invalid(Header, "must be 1 to 128 visible ASCII characters")
		}
	}
	return nil
}

// UnaryInterceptor moves the Header metadata into the context; a malformed
// key fails INVALID_ARGUMENT before the call runs.
func UnaryInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		md, _ := metadata.FromIncomingContext(ctx)
		v := md.Get(Header)
		if len(v) == 0 {
			return h(ctx, req)
		}
		if len(v) > 1 {
			return nil, apperr.Invalid(Header, "send one key")
		}
		if err := Check(v[0]); err != nil {
			return nil, err
		}
		return h(WithKey(ctx, v[0]), req)
	}
}

// MarkReplay tells the client its answer repeats an earlier outcome.
func MarkReplay(ctx context.Context) {
	_ = grpc.SetHeader(ctx, metadata.Pairs(ReplayHeader, "true"))
}
