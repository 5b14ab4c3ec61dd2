package auth

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"strings"

	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventspb "github.com/oof-gg/platform/api/gen/oof/events/v1"
	"github.com/oof-gg/platform/pkg/apperr"
	"github.com/oof-gg/platform/pkg/auth"
	"github.com/oof-gg/platform/pkg/eventlog"
	"github.com/oof-gg/platform/pkg/outbox"
	"github.com/oof-gg/platform/pkg/validate"
)

// TwitchLoginInput is a Twitch sign-in; Bearer, when set, is the caller's
// oof access token and asks to link Twitch to that existing account.
type TwitchLoginInput struct {
	HelixToken, ClientID, UserID string
	Bearer                       string
}

// Validate checks shape only.
func (in TwitchLoginInput) Validate() error {
	var v []apperr.FieldViolation
	for _, f := range []struct{ name, value string }{
		{"helix_token", in.HelixToken}, {"client_id", in.ClientID}, {"user_id", in.UserID},
	} {
		switch {
		case f.value == "" || len(f.value) > 256:
			v = append(v, apperr.FieldViolation{Field: f.name, Description: "must be 1 to 256 characters"})
		case !validate.Storable(f.value):
			// user_id is looked up in and stored into text columns.
			v = append(v, apperr.FieldViolation{Field: f.name, Description: validate.NotStorable})
		}
	}
	if len(v) > 0 {
		return apperr.InvalidFields(v)
	}
	return nil
}

// TwitchLogin signs in with Twitch: it logs into the linked account, links
// Twitch to the caller's account, or creates a new account.
func (s *Service) TwitchLogin(ctx context.Context, in TwitchLoginInput) (Tokens, error) {
	if err := in.Validate(); err != nil {
		return Tokens{}, err
	}
	id, err := s.Twitch.Verify(ctx, in.HelixToken, in.ClientID, in.UserID)
	if err != nil {
		return Tokens{}, err
	}
	acct, err := s.Accounts.ByTwitchID(ctx, id.UserID)
	switch {
	case err == nil:
		return s.completeLogin(ctx, acct, eventspb.AuthMethod_AUTH_METHOD_TWITCH)
	case !errors.Is(err, ErrNoAccount):
		return Tokens{}, fmt.Errorf("twitch login: %w", err)
	case in.Bearer != "":
		acct, err = s.linkTwitch(ctx, in.Bearer, id)
	default:
		acct, err = s.createTwitchAccount(ctx, id)
	}
	if err != nil {
		return Tokens{}, err
	}
	return s.completeLogin(ctx, acct, eventspb.AuthMethod_AUTH_METHOD_TWITCH)
}

func (s *Service) linkedEvent(userID string, id TwitchIdentity) eventlog.Event {
	return s.userEvent(userID, eventlog.Event{Message: &eventspb.TwitchAccountLinked{
		UserId: userID, TwitchUserId: id.UserID, TwitchLogin: id.Login, LinkedAt: timestamppb.New(s.Now()),
	}})
}

func (s *Service) linkTwitch(ctx context.Context, bearer string, id TwitchIdentity) (Account, error) {
	p, err := s.Validator.Validate(ctx, bearer)
	if errors.Is(err, auth.ErrInvalidToken) {
		return Account{}, apperr.Unauthenticated("invalid or expired access token")
	}
	if err != nil {
		return Account{}, apperr.Unavailable("cannot verify access token right now", err)
	}
	var staged outbox.Staged
	err = s.Accounts.LinkTwitch(ctx, p.UserID, id.UserID, s.stage(&staged, s.linkedEvent(p.UserID, id)))
	if err != nil {
		return Account{}, fmt.Errorf("link twitch: %w", err)
	}
	s.committed(ctx, staged)
	return s.Accounts.ByID(ctx, p.UserID)
}

func (s *Service) createTwitchAccount(ctx context.Context, id TwitchIdentity) (Account, error) {
	acct := Account{UserID: uuid.NewString(), Role: auth.RolePlayer, TwitchUserID: id.UserID}
	// The Twitch login is the preferred username; on a clash a short random
	// suffix is tried a few times.
	base := twitchUsername(id)
	for attempt := 0; attempt < 5; attempt++ {
		acct.Username = base
		if attempt > 0 {
			acct.Username = fmt.Sprintf("%s_%s", truncate(base, 25), randomDigits(6))
		}
		var staged outbox.Staged
		err := s.Accounts.Create(ctx, acct, s.stage(&staged,
			s.userEvent(acct.UserID, eventlog.Event{Message: &eventspb.UserRegistered{
				UserId: acct.UserID, Username: acct.Username, Role: acct.Role,
				Method: eventspb.AuthMethod_AUTH_METHOD_TWITCH, RegisteredAt: timestamppb.New(s.Now()),
			}}),
			s.linkedEvent(acct.UserID, id)))
		if err == nil {
			s.committed(ctx, staged)
			return acct, nil
		}
		if !apperr.Is(err, apperr.KindAlreadyExists) || !strings.Contains(err.Error(), "username") {
			return Account{}, fmt.Errorf("create twitch account: %w", err)
		}
	}
	return Account{}, apperr.AlreadyExists("could not find a free username for this Twitch account")
}

// twitchUsername maps a Twitch login onto our username alphabet.
func twitchUsername(id TwitchIdentity) string {
	var b strings.Builder
	for _, c := range id.Login {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-' {
			b.WriteRune(c)
		}
	}
	name := truncate(b.String(), 32)
	if len(name) < 3 {
		name = "twitch_" + truncate(id.UserID, 25)
	}
	return name
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func randomDigits(n int) string {
	out := make([]byte, n)
	for i := range out {
		d, err := rand.Int(rand.Reader, big.NewInt(10))
		if err != nil {
			d = big.NewInt(int64(i))
		}
		out[i] = byte('0' + d.Int64())
	}
	return string(out)
}
