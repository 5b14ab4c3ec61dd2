package auth

import (
	"context"
	"net"
	"strings"

	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"

	authpb "github.com/oof-gg/platform/api/gen/v1/api/auth"
	"github.com/oof-gg/platform/pkg/grpcx"
	"github.com/oof-gg/platform/pkg/middleware"
)

// GRPC adapts Service to the AuthService wire contract.
type GRPC struct {
	authpb.UnimplementedAuthServiceServer
	svc *Service
	// trustProxy: take the client address from the proxy's header (Envoy)
	// instead of the TCP peer.
	trustProxy bool
}

// NewGRPC returns the adapter.
func NewGRPC(svc *Service, trustProxy bool) *GRPC { return &GRPC{svc: svc, trustProxy: trustProxy} }

// Mount adds the command methods of AuthService to services.
func (g *GRPC) Mount(services *grpcx.Services) {
	services.Add(&authpb.AuthService_ServiceDesc, g, "Register", "Login", "RefreshToken", "TwitchLogin")
}

func (g *GRPC) Register(ctx context.Context, req *authpb.RegisterRequest) (*authpb.RegisterResponse, error) {
	t, err := g.svc.Register(ctx, RegisterInput{Username: req.GetUsername(), Email: req.GetEmail(), Password: req.GetPassword()}, g.clientAddr(ctx))
	if err != nil {
		return nil, err
	}
	return &authpb.RegisterResponse{UserId: t.UserID, AccessToken: t.AccessToken, RefreshToken: t.RefreshToken, ExpiresIn: t.ExpiresIn}, nil
}

func (g *GRPC) Login(ctx context.Context, req *authpb.LoginRequest) (*authpb.LoginResponse, error) {
	t, err := g.svc.Login(ctx, LoginInput{Identifier: req.GetUsername(), Password: req.GetPassword()}, g.clientAddr(ctx))
	if err != nil {
		return nil, err
	}
	return loginResponse(t), nil
}

func (g *GRPC) RefreshToken(ctx context.Context, req *authpb.RefreshTokenRequest) (*authpb.RefreshTokenResponse, error) {
	t, err := g.svc.RefreshToken(ctx, req.GetRefreshToken())
	if err != nil {
		return nil, err
	}
	return &authpb.RefreshTokenResponse{AccessToken: t.AccessToken, RefreshToken: t.RefreshToken, ExpiresIn: t.ExpiresIn}, nil
}

func (g *GRPC) TwitchLogin(ctx context.Context, req *authpb.TwitchLoginRequest) (*authpb.LoginResponse, error) {
	bearer, _ := middleware.BearerToken(ctx)
	t, err := g.svc.TwitchLogin(ctx, TwitchLoginInput{
		HelixToken: req.GetHelixToken(), ClientID: req.GetClientId(), UserID: req.GetUserId(), Bearer: bearer,
	})
	if err != nil {
		return nil, err
	}
	return loginResponse(t), nil
}

func loginResponse(t Tokens) *authpb.LoginResponse {
	return &authpb.LoginResponse{AccessToken: t.AccessToken, RefreshToken: t.RefreshToken, ExpiresIn: t.ExpiresIn}
}

// clientAddr is the caller's IP, used as a rate-limit key.
func (g *GRPC) clientAddr(ctx context.Context) string {
	if g.trustProxy {
		md, _ := metadata.FromIncomingContext(ctx)
		if v := md.Get("x-envoy-external-address"); len(v) > 0 && v[0] != "" {
			return v[0]
		}
		if v := md.Get("x-forwarded-for"); len(v) > 0 {
			first, _, _ := strings.Cut(v[0], ",")
			if ip := strings.TrimSpace(first); ip != "" {
				return ip
			}
		}
	}
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		if host, _, err := net.SplitHostPort(p.Addr.String()); err == nil {
			return host
		}
		return p.Addr.String()
	}
	return "unknown"
}
