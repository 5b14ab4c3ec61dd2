// Package ops is the operators' entry point (docs/operations.md): account
// administration through the platform's own command code (command/auth for
// accounts, command/player for roles, so every change is an event on the
// log) and the status read of query/ops. The oof.ops.v1 service (grpc.go,
// admins only) and the `oof admin` / `oof status` subcommands call the same
// methods.
package ops

import (
	"context"
	"errors"

	"github.com/IBM/sarama"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	commandauth "github.com/oof-gg/platform/command/auth"
	commandplayer "github.com/oof-gg/platform/command/player"
	"github.com/oof-gg/platform/pkg/apperr"
	"github.com/oof-gg/platform/pkg/projection"
	queryops "github.com/oof-gg/platform/query/ops"
)

// Service holds what the operator commands and reads use.
type Service struct {
	Auth    *commandauth.Service
	Players *commandplayer.Handler
	Status  *queryops.Statuser
	// Match history and replay (matches.go).
	Matches *queryops.Matches
	Kafka   func() (sarama.Client, error)
	// Dead letters (deadletters.go): the database and the projectors a
	// re-drive applies records through.
	Pool       *pgxpool.Pool
	Projectors projection.Lookup
}

// CreateUser creates a password account (UserRegistered).
func (s *Service) CreateUser(ctx context.Context, in commandauth.CreateAccountInput) (commandauth.Account, error) {
	return s.Auth.CreateAccount(ctx, in)
}

// Granted is the outcome of GrantRole.
type Granted struct {
	UserID, Role string
	commandplayer.GrantResult
}

// GrantRole sets the role of the account named by user (a user id, a
// username or an e-mail address); by is the admin asking ("" for the CLI).
func (s *Service) GrantRole(ctx context.Context, user, role, by string) (Granted, error) {
	id, err := s.resolve(ctx, user)
	if err != nil {
		return Granted{}, err
	}
	res, err := s.Players.GrantRole(ctx, id, role, by)
	if err != nil {
		return Granted{}, err
	}
	return Granted{UserID: id, Role: role, GrantResult: res}, nil
}

// resolve turns a user id, username or e-mail into the account's id.
func (s *Service) resolve(ctx context.Context, user string) (string, error) {
	if user == "" {
		return "", apperr.Invalid("user", "must be a user id, username or e-mail address")
	}
	if _, err := uuid.Parse(user); err == nil && len(user) == 36 {
		return user, nil
	}
	acct, err := s.Auth.Accounts.ByLogin(ctx, user)
	if errors.Is(err, commandauth.ErrNoAccount) {
		return "", apperr.NotFound("no user account named " + user)
	}
	if err != nil {
		return "", err
	}
	return acct.UserID, nil
}

// Erasure is the outcome of EraseUser.
type Erasure struct {
	UserID string
	commandplayer.Erased
}

// EraseUser erases the personal data of the account named by user (a user
// id, a username or an e-mail address): command/player's Erase, which
// destroys its personal-data keys and records UserErased. by is the admin
// asking ("" for the CLI).
func (s *Service) EraseUser(ctx context.Context, user, by string) (Erasure, error) {
	id, err := s.resolve(ctx, user)
	if err != nil {
		return Erasure{}, err
	}
	res, err := s.Players.Erase(ctx, id, by)
	if err != nil {
		return Erasure{}, err
	}
	return Erasure{UserID: id, Erased: res}, nil
}
