package auth

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventspb "github.com/oof-gg/platform/api/gen/oof/events/v1"
	"github.com/oof-gg/platform/pkg/apperr"
	"github.com/oof-gg/platform/pkg/auth"
	"github.com/oof-gg/platform/pkg/outbox"
)

// CreateAccountInput is an operator's request for a password account
// (`oof admin create-user`, oof.ops.v1 CreateUser). Email is optional here:
// an operator may make accounts that only sign in by username.
type CreateAccountInput struct {
	Username, Email, Password, Role string
}

// Validate reports every invalid field (the same rules as Register).
func (in CreateAccountInput) Validate() error {
	var v []apperr.FieldViolation
	add := func(field, problem string) {
		if problem != "" {
			v = append(v, apperr.FieldViolation{Field: field, Description: problem})
		}
	}
	add("username", validateUsername(in.Username))
	if in.Email != "" {
		add("email", validateEmail(in.Email))
	}
	add("password", validatePassword(in.Password))
	if in.Role != "" && !auth.ValidRole(in.Role) {
		add("role", "must be one of player, developer, admin, service")
	}
	if len(v) > 0 {
		return apperr.InvalidFields(v)
	}
	return nil
}

// CreateAccount creates a password account the way Register does (the
// account and its UserRegistered commit together) but for operators: no
// rate limit, no login opened, and the role may be set. The callers
// (command/ops) have checked that an admin or the operator CLI asks.
func (s *Service) CreateAccount(ctx context.Context, in CreateAccountInput) (Account, error) {
	if err := in.Validate(); err != nil {
		return Account{}, err
	}
	if in.Role == "" {
		in.Role = auth.RolePlayer
	}
	if err := s.Accounts.CheckFree(ctx, in.Username, in.Email); err != nil {
		return Account{}, fmt.Errorf("create account %q: %w", in.Username, err)
	}
	hash, err := s.Hasher.Hash(in.Password)
	if err != nil {
		return Account{}, apperr.Internal("hash password", err)
	}
	userID := uuid.NewString()
	acct := Account{UserID: userID, Username: in.Username, Email: in.Email, PasswordHash: hash, Role: in.Role}
	var staged outbox.Staged
	err = s.Accounts.Create(ctx, acct, s.stageRegistered(&staged, &eventspb.UserRegistered{
		UserId:       userID,
		Username:     in.Username,
		Role:         in.Role,
		Method:       eventspb.AuthMethod_AUTH_METHOD_PASSWORD,
		RegisteredAt: timestamppb.New(s.Now()),
	}, in.Email))
	if err != nil {
		return Account{}, fmt.Errorf("create account %q: %w", in.Username, err)
	}
	s.committed(ctx, staged)
	acct.PasswordHash = ""
	return acct, nil
}
