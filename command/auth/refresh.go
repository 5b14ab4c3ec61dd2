package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	eventspb "github.com/oof-gg/platform/api/gen/oof/events/v1"
	"github.com/oof-gg/platform/pkg/apperr"
	"github.com/oof-gg/platform/pkg/auth"
	"github.com/oof-gg/platform/pkg/eventlog"
)

// RefreshToken rotates a refresh token. Presenting an already-rotated token
// revokes its whole session (and with it every access token of the session).
func (s *Service) RefreshToken(ctx context.Context, token string) (Tokens, error) {
	if token == "" || len(token) > 256 {
		return Tokens{}, apperr.Invalid("refresh_token", "must be a refresh token")
	}
	next, grant, err := s.Refresh.Rotate(ctx, token)
	switch {
	case errors.Is(err, auth.ErrRefreshReused):
		s.recordRevocation(ctx, grant)
		return Tokens{}, apperr.Unauthenticated("refresh token was already used; the session is revoked")
	case errors.Is(err, auth.ErrRefreshInvalid):
		return Tokens{}, apperr.Unauthenticated("refresh token is invalid, expired or revoked")
	case err != nil:
		return Tokens{}, apperr.Unavailable("session store unavailable", err)
	}
	// The role is read fresh, so a role change takes effect at the next refresh.
	acct, err := s.Accounts.ByID(ctx, grant.UserID)
	if errors.Is(err, ErrNoAccount) {
		return Tokens{}, apperr.Unauthenticated("account no longer exists")
	}
	if err != nil {
		return Tokens{}, fmt.Errorf("refresh: %w", err)
	}
	access, err := s.Issuer.Issue(acct.UserID, acct.Role, grant.SessionID)
	if err != nil {
		return Tokens{}, apperr.Internal("issue access token", err)
	}
	// The rotation already happened: failing now would throw the new token
	// away, and the client's retry with the old one would look like reuse
	// and revoke the session. The event is recorded best-effort.
	if _, err := s.Outbox.Publish(ctx, s.userEvent(acct.UserID, eventlog.Event{Message: &eventspb.TokenRefreshed{
		UserId: acct.UserID, SessionId: grant.SessionID, RefreshedAt: timestamppb.New(s.Now()),
	}})); err != nil {
		s.Log.ErrorContext(ctx, "publish TokenRefreshed", "user_id", acct.UserID, "err", err)
	}
	return Tokens{UserID: acct.UserID, AccessToken: access, RefreshToken: next,
		ExpiresIn: int64(s.Issuer.TTL() / time.Second)}, nil
}

// recordRevocation publishes the revocation; the revocation itself already
// happened in Redis, so a publish failure is logged, not returned.
func (s *Service) recordRevocation(ctx context.Context, g auth.RefreshGrant) {
	_, err := s.Outbox.Publish(ctx, s.userEvent(g.UserID, eventlog.Event{Message: &eventspb.TokenFamilyRevoked{
		UserId: g.UserID, SessionId: g.SessionID, Reason: "refresh_token_reuse", RevokedAt: timestamppb.New(s.Now()),
	}}))
	if err != nil {
		s.Log.ErrorContext(ctx, "publish TokenFamilyRevoked", "user_id", g.UserID, "err", err)
	}
}
