// Package auth is the query side of accounts: ValidateToken.
package auth

import (
	"context"
	"errors"

	authpb "github.com/oof-gg/platform/api/gen/v1/api/auth"
	"github.com/oof-gg/platform/pkg/apperr"
	"github.com/oof-gg/platform/pkg/auth"
	"github.com/oof-gg/platform/pkg/grpcx"
)

// TokenValidator resolves an access token into a principal.
type TokenValidator interface {
	Validate(ctx context.Context, token string) (auth.Principal, error)
}

// GRPC serves ValidateToken of AuthService.
type GRPC struct {
	authpb.UnimplementedAuthServiceServer
	validator TokenValidator
}

// NewGRPC returns the query adapter.
func NewGRPC(v TokenValidator) *GRPC { return &GRPC{validator: v} }

// Mount adds the query methods of AuthService to services.
func (g *GRPC) Mount(services *grpcx.Services) {
	services.Add(&authpb.AuthService_ServiceDesc, g, "ValidateToken")
}

// ValidateToken answers is_valid=false (not an error) for any token that is
// not accepted: expired, tampered, wrong algorithm, unknown key, revoked.
// Only an outage of the revocation store is an error.
func (g *GRPC) ValidateToken(ctx context.Context, req *authpb.ValidateTokenRequest) (*authpb.ValidateTokenResponse, error) {
	if req.GetAccessToken() == "" || len(req.GetAccessToken()) > auth.MaxAccessTokenBytes {
		return &authpb.ValidateTokenResponse{IsValid: false}, nil
	}
	p, err := g.validator.Validate(ctx, req.GetAccessToken())
	if errors.Is(err, auth.ErrInvalidToken) {
		return &authpb.ValidateTokenResponse{IsValid: false}, nil
	}
	if err != nil {
		return nil, apperr.Unavailable("cannot check token revocation right now", err)
	}
	return &authpb.ValidateTokenResponse{IsValid: true, UserId: p.UserID, Role: p.Role}, nil
}
