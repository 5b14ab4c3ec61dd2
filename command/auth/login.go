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
	accountKey := strings.ToLower(in.Identifier)
	if err := s.checkLoginRate(ctx, accountKey, clientAddr); err != nil {
		return Tokens{}, err
	}
	acct, err := s.Accounts.ByLogin(ctx, in.Identifier)
	if err != nil && !errors.Is(err, ErrNoAccount) {
		return Tokens{}, fmt.Errorf("login: %w", err)
	}
	if !s.Hasher.Verify(in.Password, acct.PasswordHash) {
		return Tokens{}, errBadCredentials
	}
	if err := s.LoginByAccount.Reset(ctx, accountKey); err != nil {
		s.Log.WarnContext(ctx, "reset login rate limit", "err", err)
	}
	return s.completeLogin(ctx, acct, eventspb.AuthMethod_AUTH_METHOD_PASSWORD)
}

// checkLoginRate limits attempts per client address and per account name.
func (s *Service) checkLoginRate(ctx context.Context, accountKey, clientAddr string) error {
	checks := []struct {
		limiter *ratelimit.Limiter
		key     string
		what    string
	}{
		{s.LoginByAddress, clientAddr, "from this address"},
		{s.LoginByAccount, accountKey, "for this account"},
	}
	for _, c := range checks {
		d, err := c.limiter.Hit(ctx, c.key)
		if err != nil {
			return apperr.Unavailable("rate limiter unavailable", err)
		}
		if !d.Allowed {
			return apperr.ResourceExhausted("too many login attempts "+c.what+"; retry later", d.RetryAfter)
		}
	}
	return nil
}

// completeLogin opens a session for acct and records the login.
func (s *Service) completeLogin(ctx context.Context, acct Account, method eventspb.AuthMethod) (Tokens, error) {
	tokens, sid, err := s.startSession(ctx, acct.UserID, acct.Role)
	if err != nil {
		return Tokens{}, err
	}
	_, err = s.Outbox.Publish(ctx, s.userEvent(acct.UserID, eventlog.Event{Message: &eventspb.UserLoggedIn{
		UserId:     acct.UserID,
		Method:     method,
		SessionId:  sid,
		LoggedInAt: timestamppb.New(s.Now()),
	}}))
	if err != nil {
		return Tokens{}, fmt.Errorf("record UserLoggedIn: %w", err)
	}
	return tokens, nil
}
