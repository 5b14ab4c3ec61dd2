package auth

import (
	"context"

	"github.com/jackc/pgx/v5"

	eventspb "github.com/oof-gg/platform/api/gen/oof/events/v1"
	"github.com/oof-gg/platform/pkg/apperr"
	"github.com/oof-gg/platform/pkg/eventlog"
	"github.com/oof-gg/platform/pkg/outbox"
	"github.com/oof-gg/platform/pkg/personal"
)

// stageRegistered seals email into e with the new user's personal-data key
// (created in the account's transaction, so the key commits with the event
// that needs it) and stages e: the e-mail reaches Kafka only sealed, and an
// erasure can make it unreadable without rewriting the log
// (docs/events.md, "Personal data").
func (s *Service) stageRegistered(st *outbox.Staged, e *eventspb.UserRegistered, email string) func(context.Context, pgx.Tx) error {
	return func(ctx context.Context, tx pgx.Tx) error {
		sealed, keyID, err := personal.Seal(ctx, tx, e.GetUserId(), personal.FieldEmail, email)
		if err != nil {
			return apperr.Unavailable("personal-data keys unavailable", err)
		}
		e.Email, e.EmailSealed, e.PersonalKeyId = "", sealed, keyID
		return s.stage(st, s.userEvent(e.GetUserId(), eventlog.Event{Message: e}))(ctx, tx)
	}
}
