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

// Register creates a password account and logs it in. Cheap checks come
// first (the address's budget, then a taken name costs no hash), the hash
// waits for the hashing slots Login uses too, and the login's tokens are
// issued only once the account exists, so a failed attempt leaves nothing
// behind.
func (s *Service) Register(ctx context.Context, in RegisterInput, clientAddr string) (Tokens, error) {
	if err := in.Validate(); err != nil {
		return Tokens{}, err
	}
	// Every attempt counts, taken names included: that also bounds probing
	// which names and e-mails exist.
	if err := s.checkRate(ctx, s.RegisterByAddress, clientAddr, "registrations from this address"); err != nil {
		return Tokens{}, err
	}
	// A hint, not the guarantee: the unique indexes decide under races.
	if err := s.Accounts.CheckFree(ctx, in.Username, in.Email); err != nil {
		return Tokens{}, fmt.Errorf("register %q: %w", in.Username, err)
	}
	hash, err := s.Hasher.Hash(in.Password)
	if err != nil {
		return Tokens{}, apperr.Internal("hash password", err)
	}
	userID := uuid.NewString()
	var staged outbox.Staged
	acct := Account{UserID: userID, Username: in.Username, Email: in.Email, PasswordHash: hash, Role: auth.RolePlayer}
	err = s.Accounts.Create(ctx, acct, s.stageRegistered(&staged, &eventspb.UserRegistered{
		UserId:       userID,
		Username:     in.Username,
		Role:         auth.RolePlayer,
		Method:       eventspb.AuthMethod_AUTH_METHOD_PASSWORD,
		RegisteredAt: timestamppb.New(s.Now()),
	}, in.Email))
	if err != nil {
		return Tokens{}, fmt.Errorf("register %q: %w", in.Username, err)
	}
	s.committed(ctx, staged)
	tokens, _, err := s.startLogin(ctx, userID, auth.RolePlayer)
	if err != nil {
		// The account exists: the client signs in with Login once the
		// login store (Redis) is back.
		return Tokens{}, apperr.Unavailable("account created, but signing in failed; log in", err)
	}
	return tokens, nil
}
