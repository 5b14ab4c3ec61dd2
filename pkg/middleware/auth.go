// Package middleware holds the gRPC interceptors every target installs:
// panic recovery, metrics and access logs, error-to-status mapping, trace
// context, and bearer-token authentication.
package middleware

import (
	"context"
	"errors"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/oof-gg/platform/pkg/auth"
)

// TokenValidator resolves an access token into a principal.
type TokenValidator interface {
	Validate(ctx context.Context, token string) (auth.Principal, error)
}

// Authenticator requires a valid bearer token on every method except an
// explicit allow-list of public ones.
type Authenticator struct {
	validator TokenValidator
	public    map[string]bool
}

// PublicMethods are callable without a token, per the wire contract.
func PublicMethods() []string {
	return []string{
		"/v1.api.auth.AuthService/Register",
		"/v1.api.auth.AuthService/Login",
		"/v1.api.auth.AuthService/TwitchLogin",
		"/v1.api.auth.AuthService/RefreshToken",
		"/v1.api.auth.AuthService/ValidateToken",
		"/grpc.health.v1.Health/Check",
		"/grpc.health.v1.Health/Watch",
		"/grpc.health.v1.Health/List",
		"/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
		"/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
	}
}

// NewAuthenticator returns an authenticator with the given public methods.
func NewAuthenticator(v TokenValidator, public []string) *Authenticator {
	a := &Authenticator{validator: v, public: map[string]bool{}}
	for _, m := range public {
		a.public[m] = true
	}
	return a
}

// BearerToken returns the bearer token of the incoming metadata, if any.
func BearerToken(ctx context.Context) (string, bool) {
	md, _ := metadata.FromIncomingContext(ctx)
	for _, v := range md.Get("authorization") {
		scheme, token, ok := strings.Cut(v, " ")
		if ok && strings.EqualFold(scheme, "bearer") && strings.TrimSpace(token) != "" {
			return strings.TrimSpace(token), true
		}
	}
	return "", false
}

func (a *Authenticator) authenticate(ctx context.Context, method string) (context.Context, error) {
	if a.public[method] {
		return ctx, nil
	}
	token, ok := BearerToken(ctx)
	if !ok {
		return nil, status.Error(codes.Unauthenticated, "missing bearer token")
	}
	// Refused before any parsing: no token we issue comes near this size.
	if len(token) > auth.MaxAccessTokenBytes {
		return nil, status.Errorf(codes.Unauthenticated, "bearer token longer than %d bytes", auth.MaxAccessTokenBytes)
	}
	p, err := a.validator.Validate(ctx, token)
	if errors.Is(err, auth.ErrInvalidToken) {
		return nil, status.Error(codes.Unauthenticated, "invalid or expired access token")
	}
	if err != nil {
		return nil, status.Error(codes.Unavailable, "cannot verify access token right now")
	}
	return auth.WithPrincipal(ctx, p), nil
}

// Unary authenticates unary calls.
func (a *Authenticator) Unary() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		ctx, err := a.authenticate(ctx, info.FullMethod)
		if err != nil {
			return nil, err
		}
		return h(ctx, req)
	}
}

// Stream authenticates streams once, at open.
func (a *Authenticator) Stream() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		ctx, err := a.authenticate(ss.Context(), info.FullMethod)
		if err != nil {
			return err
		}
		return h(srv, &contextStream{ServerStream: ss, ctx: ctx})
	}
}

// contextStream replaces a stream's context.
type contextStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *contextStream) Context() context.Context { return s.ctx }
