package middleware

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/oof-gg/platform/pkg/auth"
)

// fakeValidator accepts the tokens in its map; "outage" fails like Redis down.
type fakeValidator struct {
	valid map[string]auth.Principal
	calls int
}

func (f *fakeValidator) Validate(_ context.Context, token string) (auth.Principal, error) {
	f.calls++
	if token == "outage" {
		return auth.Principal{}, errors.New("redis: i/o timeout")
	}
	if token == "canceled" {
		return auth.Principal{}, context.Canceled
	}
	if p, ok := f.valid[token]; ok {
		return p, nil
	}
	return auth.Principal{}, fmt.Errorf("%w: bad signature", auth.ErrInvalidToken)
}

var alice = auth.Principal{UserID: "u-alice", Role: auth.RolePlayer, LoginID: "s-1", TokenID: "j-1"}

const privateMethod = "/v1.api.common.GameService/CreateGame"

// long is one byte over the bearer size bound.
var long = strings.Repeat("t", auth.MaxAccessTokenBytes+1)

func incoming(kv ...string) context.Context {
	return metadata.NewIncomingContext(context.Background(), metadata.Pairs(kv...))
}

// fakeStream is a ServerStream that only has a context.
type fakeStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *fakeStream) Context() context.Context { return s.ctx }

func TestAuthenticator(t *testing.T) {
	cases := []struct {
		name       string
		method     string
		ctx        context.Context
		code       codes.Code
		principal  *auth.Principal
		validCalls int
	}{
		{"public without token", "/v1.api.auth.AuthService/Login", context.Background(), codes.OK, nil, 0},
		{"public with bad token is not checked", "/v1.api.auth.AuthService/ValidateToken", incoming("authorization", "Bearer nope"), codes.OK, nil, 0},
		{"health is public", "/grpc.health.v1.Health/Check", context.Background(), codes.OK, nil, 0},
		{"no metadata", privateMethod, context.Background(), codes.Unauthenticated, nil, 0},
		{"no authorization header", privateMethod, incoming("x-other", "1"), codes.Unauthenticated, nil, 0},
		{"basic scheme", privateMethod, incoming("authorization", "Basic dXNlcjpwdw=="), codes.Unauthenticated, nil, 0},
		{"bearer without token", privateMethod, incoming("authorization", "Bearer   "), codes.Unauthenticated, nil, 0},
		{"token without scheme", privateMethod, incoming("authorization", "good"), codes.Unauthenticated, nil, 0},
		{"invalid token", privateMethod, incoming("authorization", "Bearer forged"), codes.Unauthenticated, nil, 1},
		{"validator outage", privateMethod, incoming("authorization", "Bearer outage"), codes.Unavailable, nil, 1},
		{"validator canceled", privateMethod, incoming("authorization", "Bearer canceled"), codes.Unavailable, nil, 1},
		{"valid token", privateMethod, incoming("authorization", "Bearer good"), codes.OK, &alice, 1},
		{"scheme is case-insensitive", privateMethod, incoming("authorization", "bEaReR good"), codes.OK, &alice, 1},
		{"token is trimmed", privateMethod, incoming("authorization", "Bearer  good "), codes.OK, &alice, 1},
		{"second header used", privateMethod, incoming("authorization", "Basic x", "authorization", "Bearer good"), codes.OK, &alice, 1},
		{"public list is exact", "/v1.api.auth.AuthService/LoginX", context.Background(), codes.Unauthenticated, nil, 0},
		// Refused before the validator sees it, even if it would accept it.
		{"token over the size bound", privateMethod, incoming("authorization", "Bearer "+long), codes.Unauthenticated, nil, 0},
		{"token at the size bound", privateMethod, incoming("authorization", "Bearer "+long[1:]), codes.OK, &alice, 1},
	}
	for _, tc := range cases {
		for _, kind := range []string{"unary", "stream"} {
			t.Run(tc.name+"/"+kind, func(t *testing.T) {
				v := &fakeValidator{valid: map[string]auth.Principal{"good": alice, long: alice, long[1:]: alice}}
				a := NewAuthenticator(v, PublicMethods())
				var reached bool
				var gotCtx context.Context
				var err error
				if kind == "unary" {
					var resp any
					resp, err = a.Unary()(tc.ctx, "req", &grpc.UnaryServerInfo{FullMethod: tc.method},
						func(ctx context.Context, req any) (any, error) { reached, gotCtx = true, ctx; return "resp", nil })
					if err == nil && resp != "resp" {
						t.Fatalf("resp = %v", resp)
					}
				} else {
					err = a.Stream()(nil, &fakeStream{ctx: tc.ctx}, &grpc.StreamServerInfo{FullMethod: tc.method},
						func(_ any, ss grpc.ServerStream) error { reached, gotCtx = true, ss.Context(); return nil })
				}
				if status.Code(err) != tc.code {
					t.Fatalf("code %v (%v), want %v", status.Code(err), err, tc.code)
				}
				if reached != (tc.code == codes.OK) {
					t.Fatalf("handler reached = %v with code %v", reached, tc.code)
				}
				if v.calls != tc.validCalls {
					t.Fatalf("validator calls = %d, want %d", v.calls, tc.validCalls)
				}
				if !reached {
					return
				}
				p, ok := auth.PrincipalFrom(gotCtx)
				if tc.principal == nil {
					if ok {
						t.Fatalf("unexpected principal %+v", p)
					}
					return
				}
				if !ok || p != *tc.principal {
					t.Fatalf("principal = %+v, %v; want %+v", p, ok, *tc.principal)
				}
			})
		}
	}
}

func TestAuthenticatorErrorsDoNotLeakCause(t *testing.T) {
	a := NewAuthenticator(&fakeValidator{}, nil)
	_, err := a.Unary()(incoming("authorization", "Bearer outage"), nil, &grpc.UnaryServerInfo{FullMethod: privateMethod},
		func(context.Context, any) (any, error) { return nil, nil })
	if s := status.Convert(err); s.Code() != codes.Unavailable || s.Message() != "cannot verify access token right now" {
		t.Fatalf("status = %v %q", s.Code(), s.Message())
	}
}

func TestPublicMethods(t *testing.T) {
	pub := map[string]bool{}
	for _, m := range PublicMethods() {
		pub[m] = true
	}
	for _, m := range []string{
		"/v1.api.auth.AuthService/Register", "/v1.api.auth.AuthService/Login",
		"/v1.api.auth.AuthService/TwitchLogin", "/v1.api.auth.AuthService/RefreshToken",
		"/v1.api.auth.AuthService/ValidateToken", "/grpc.health.v1.Health/Check",
	} {
		if !pub[m] {
			t.Errorf("%s should be public", m)
		}
	}
	for _, m := range []string{privateMethod, "/v1.api.common.PlayerService/UpdatePlayer"} {
		if pub[m] {
			t.Errorf("%s must not be public", m)
		}
	}
}

func TestBearerToken(t *testing.T) {
	cases := []struct {
		name string
		ctx  context.Context
		tok  string
		ok   bool
	}{
		{"none", context.Background(), "", false},
		{"bearer", incoming("authorization", "Bearer abc.def"), "abc.def", true},
		{"uppercase key is normalised", incoming("Authorization", "Bearer abc"), "abc", true},
		{"empty", incoming("authorization", ""), "", false},
		{"scheme only", incoming("authorization", "Bearer"), "", false},
		{"other scheme", incoming("authorization", "Token abc"), "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tok, ok := BearerToken(tc.ctx)
			if tok != tc.tok || ok != tc.ok {
				t.Fatalf("BearerToken = %q, %v; want %q, %v", tok, ok, tc.tok, tc.ok)
			}
		})
	}
}
