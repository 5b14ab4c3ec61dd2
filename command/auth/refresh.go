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
// again within the grace window answers with the same successor (and a fresh
// access token of the same login); after it, it revokes the whole login (and
// with it every access token of the login).
func (s *Service) RefreshToken(ctx context.Context, token string) (Tokens, error) {
	if token == "" || len(token) > 256 {
		return Tokens{}, apperr.Invalid("refresh_token", "must be a refresh token")
	}
	// The account is read before the token is spent: an outage or a deleted
	// account then fails the call with the token still usable, instead of
	// after a rotation whose successor the client never sees. The role is
	// read fresh, so a role change takes effect at the next refresh.
	owner, err := s.Refresh.Owner(ctx, token)
	if err != nil {
		return Tokens{}, refreshError(err)
	}
	acct, err := s.Accounts.ByID(ctx, owner.UserID)
	if errors.Is(err, ErrNoAccount) {
		return Tokens{}, apperr.Unauthenticated("account no longer exists")
	}
	if err != nil {
		return Tokens{}, fmt.Errorf("refresh: %w", err)
	}
	rot, err := s.Refresh.Rotate(ctx, token)
	if errors.Is(err, auth.ErrRefreshReused) {
		s.recordRevocation(ctx, rot.Grant)
	}
	if err != nil {
		return Tokens{}, refreshError(err)
	}
	// From here nothing may fail the call: the rotation happened, and only a
	// retry within the grace window would get its successor back. Signing
	// with a key already in the ring cannot fail in practice; the event is
	// recorded best-effort.
	access, err := s.Issuer.Issue(acct.UserID, acct.Role, rot.Grant.LoginID)
	if err != nil {
		return Tokens{}, apperr.Internal("issue access token", err)
	}
	if !rot.Replayed {
		if _, err := s.Outbox.Publish(ctx, s.userEvent(acct.UserID, eventlog.Event{Message: &eventspb.TokenRefreshed{
			UserId: acct.UserID, SessionId: rot.Grant.LoginID, RefreshedAt: timestamppb.New(s.Now()),
		}})); err != nil {
			s.Log.ErrorContext(ctx, "publish TokenRefreshed", "user_id", acct.UserID, "err", err)
		}
	}
	return Tokens{UserID: acct.UserID, AccessToken: access, RefreshToken: rot.Next,
		ExpiresIn: int64(s.Issuer.TTL() / time.Second)}, nil
}

// refreshError maps the refresh store's answers to statuses.
func refreshError(err error) error {
	switch {
	case errors.Is(err, auth.ErrRefreshReused):
		return apperr.Unauthenticated("refresh token was already used; the login is revoked")
	case errors.Is(err, auth.ErrRefreshInvalid):
		return apperr.Unauthenticated("refresh token is invalid, expired or revoked")
	default:
		return apperr.Unavailable("login store unavailable", err)
	}
}

// recordRevocation publishes the revocation; the revocation itself already
// happened in Redis, so a publish failure is logged, not returned.
func (s *Service) recordRevocation(ctx context.Context, g auth.RefreshGrant) {
	_, err := s.Outbox.Publish(ctx, s.userEvent(g.UserID, eventlog.Event{Message: &eventspb.TokenFamilyRevoked{
		UserId: g.UserID, SessionId: g.LoginID, Reason: "refresh_token_reuse", RevokedAt: timestamppb.New(s.Now()),
	}}))
	if err != nil {
		s.Log.ErrorContext(ctx, "publish TokenFamilyRevoked", "user_id", g.UserID, "err", err)
	}
}
