package auth

import (
	"context"

	"github.com/jackc/pgx/v5"
	"log/slog"
	"time"

	"github.com/oof-gg/platform/command/kit"
	"github.com/oof-gg/platform/pkg/apperr"
	"github.com/oof-gg/platform/pkg/auth"
	"github.com/oof-gg/platform/pkg/eventlog"
	"github.com/oof-gg/platform/pkg/outbox"
	"github.com/oof-gg/platform/pkg/ratelimit"
	"github.com/oof-gg/platform/projector"
)

// Service handles the auth commands. Its dependencies are passed in whole;
// it holds no global state.
type Service struct {
	Accounts       *AccountStore
	Hasher         *auth.PasswordHasher
	Issuer         *auth.TokenIssuer
	Validator      *auth.Validator
	Refresh        *auth.RefreshStore
	Outbox         *outbox.Outbox
	Waiter         kit.ProjectionWaiter
	UserTopic      string
	LoginByAccount *ratelimit.Limiter
	LoginByAddress *ratelimit.Limiter
	// RegisterByAddress bounds registration attempts per client address.
	RegisterByAddress *ratelimit.Limiter
	Twitch            *TwitchVerifier
	ProjectionWait    time.Duration
	Now               func() time.Time
	Log               *slog.Logger
}

// UsersProjector is the projector whose read model the auth commands wait
// for (read-your-writes).
const UsersProjector = projector.Users

const eventSource = "/oof/command/auth"

// Tokens is what a successful login or registration returns.
type Tokens struct {
	UserID       string
	AccessToken  string
	RefreshToken string
	ExpiresIn    int64 // seconds
}

// startLogin opens a login (refresh-token family) and signs its first
// access token.
func (s *Service) startLogin(ctx context.Context, userID, role string) (Tokens, string, error) {
	refresh, loginID, err := s.Refresh.Start(ctx, userID)
	if err != nil {
		return Tokens{}, "", apperr.Unavailable("login store unavailable", err)
	}
	access, err := s.Issuer.Issue(userID, role, loginID)
	if err != nil {
		return Tokens{}, "", apperr.Internal("issue access token", err)
	}
	return Tokens{UserID: userID, AccessToken: access, RefreshToken: refresh,
		ExpiresIn: int64(s.Issuer.TTL() / time.Second)}, loginID, nil
}

func (s *Service) userEvent(userID string, msg eventlog.Event) eventlog.Event {
	msg.Topic, msg.Key, msg.Subject, msg.Source = s.UserTopic, userID, "user/"+userID, eventSource
	return msg
}

// committed hands staged events to the relay and gives read-your-writes
// on the users read model.
func (s *Service) committed(ctx context.Context, st outbox.Staged) {
	s.Outbox.Committed(st)
	kit.AwaitStaged(ctx, s.Outbox, s.Waiter, s.ProjectionWait, s.Log,
		func(eventlog.Position) string { return UsersProjector }, st)
}

// stage returns a callback that writes events into a transaction's outbox
// and keeps what it staged in st.
func (s *Service) stage(st *outbox.Staged, events ...eventlog.Event) func(context.Context, pgx.Tx) error {
	return func(ctx context.Context, tx pgx.Tx) error {
		var err error
		*st, err = s.Outbox.Stage(ctx, tx, events...)
		return err
	}
}
