package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"google.golang.org/protobuf/types/known/timestamppb"

	eventspb "github.com/oof-gg/platform/api/gen/oof/events/v1"
	"github.com/oof-gg/platform/pkg/apperr"
	"github.com/oof-gg/platform/pkg/eventlog"
	"github.com/oof-gg/platform/pkg/ratelimit"
)

var errBadCredentials = apperr.Unauthenticated("invalid username or password")

// Login checks a password. Unknown accounts cost one dummy hash, so neither
// the message nor the timing tells whether an account exists.
func (s *Service) Login(ctx context.Context, in LoginInput, clientAddr string) (Tokens, error) {
	if err := in.Validate(); err != nil {
		return Tokens{}, err
	}
	// The address limit comes first: it also bounds the account lookups.
	if err := s.checkRate(ctx, s.LoginByAddress, clientAddr, "login attempts from this address"); err != nil {
		return Tokens{}, err
	}
	acct, err := s.Accounts.ByLogin(ctx, in.Identifier)
	if err != nil && !errors.Is(err, ErrNoAccount) {
		return Tokens{}, fmt.Errorf("login: %w", err)
	}
	key := accountRateKey(acct, in.Identifier)
	if err := s.checkRate(ctx, s.LoginByAccount, key, "login attempts for this account"); err != nil {
		return Tokens{}, err
	}
	if !s.Hasher.Verify(in.Password, acct.PasswordHash) {
		return Tokens{}, errBadCredentials
	}
	if err := s.LoginByAccount.Reset(ctx, key); err != nil {
		s.Log.WarnContext(ctx, "reset login rate limit", "err", err)
	}
	return s.completeLogin(ctx, acct, eventspb.AuthMethod_AUTH_METHOD_PASSWORD)
}

// accountRateKey is what the per-account login limit counts under: the
// account, so its username and its e-mail share one budget; for an unknown
// identifier, the identifier as typed (case-folded), so guessing at
// accounts that do not exist is bounded too.
func accountRateKey(acct Account, identifier string) string {
	if acct.UserID != "" {
		return "user:" + acct.UserID
	}
	return "name:" + strings.ToLower(identifier)
}

// checkRate counts one hit of key and answers RESOURCE_EXHAUSTED (with the
// time to wait as RetryInfo) past the limit.
func (s *Service) checkRate(ctx context.Context, l *ratelimit.Limiter, key, what string) error {
	d, err := l.Hit(ctx, key)
	if err != nil {
		return apperr.Unavailable("rate limiter unavailable", err)
	}
	if !d.Allowed {
		return apperr.ResourceExhausted("too many "+what+"; retry later", d.RetryAfter)
	}
	return nil
}

// completeLogin opens a login for acct and records it.
func (s *Service) completeLogin(ctx context.Context, acct Account, method eventspb.AuthMethod) (Tokens, error) {
	tokens, loginID, err := s.startLogin(ctx, acct.UserID, acct.Role)
	if err != nil {
		return Tokens{}, err
	}
	_, err = s.Outbox.Publish(ctx, s.userEvent(acct.UserID, eventlog.Event{Message: &eventspb.UserLoggedIn{
		UserId:     acct.UserID,
		Method:     method,
		SessionId:  loginID,
		LoggedInAt: timestamppb.New(s.Now()),
	}}))
	if err != nil {
		return Tokens{}, fmt.Errorf("record UserLoggedIn: %w", err)
	}
	return tokens, nil
}
