// Package users projects oof.user.v1 into the users read model.
package users

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"

	eventspb "github.com/oof-gg/platform/api/gen/oof/events/v1"
	"github.com/oof-gg/platform/pkg/eventlog"
	"github.com/oof-gg/platform/pkg/personal"
	"github.com/oof-gg/platform/pkg/projection"
	"github.com/oof-gg/platform/projector"
)

// Name is the projector's name (consumer group and offset rows).
const Name = projector.Users

// Projector maintains the users table.
type Projector struct {
	topic string
	keys  *personal.Keys
}

// New returns a projector reading topic (the full oof.user.v1 name); keys
// opens the sealed e-mails (docs/events.md, "Personal data").
func New(userTopic string, keys *personal.Keys) *Projector {
	return &Projector{topic: userTopic, keys: keys}
}

func (p *Projector) Name() string     { return Name }
func (p *Projector) Topics() []string { return []string{p.topic} }

// Reset empties the read model for a rebuild.
func (p *Projector) Reset(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, `TRUNCATE users`)
	return err
}

// Apply applies one user event. Timestamps come from the events, never from
// the clock, so a replay builds the same rows.
func (p *Projector) Apply(ctx context.Context, tx pgx.Tx, env eventlog.Envelope, msg proto.Message) error {
	switch msg.(type) {
	case *eventspb.UserLoggedIn, *eventspb.TokenFamilyRevoked:
		// Counters: a redelivered event must not count twice.
		if first, err := projection.FirstDelivery(ctx, tx, Name, env); err != nil || !first {
			return err
		}
	}
	var err error
	switch e := msg.(type) {
	case *eventspb.UserRegistered:
		// The e-mail as it may be shown: opened, or "" once erased (also a
		// legacy plaintext one of an erased user), so a rebuild after an
		// erasure never shows it again.
		e = proto.Clone(e).(*eventspb.UserRegistered)
		if _, err := p.keys.Reveal(ctx, e); err != nil {
			return fmt.Errorf("users projector: %w", err)
		}
		// ON CONFLICT DO NOTHING: a second registration of a taken name can
		// only exist if the command side crashed mid-register; the first
		// registration keeps the name.
		_, err = tx.Exec(ctx, `INSERT INTO users (id, username, email, role, auth_method, registered_at)
			VALUES ($1::uuid, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
			e.GetUserId(), e.GetUsername(), e.GetEmail(), e.GetRole(), methodName(e.GetMethod()), e.GetRegisteredAt().AsTime())
	case *eventspb.UserLoggedIn:
		_, err = tx.Exec(ctx, `UPDATE users SET login_count = login_count + 1,
			last_login_at = greatest(last_login_at, $2), last_seen_at = greatest(last_seen_at, $2)
			WHERE id = $1::uuid`, e.GetUserId(), e.GetLoggedInAt().AsTime())
	case *eventspb.TokenRefreshed:
		_, err = tx.Exec(ctx, `UPDATE users SET last_seen_at = greatest(last_seen_at, $2) WHERE id = $1::uuid`,
			e.GetUserId(), e.GetRefreshedAt().AsTime())
	case *eventspb.TokenFamilyRevoked:
		_, err = tx.Exec(ctx, `UPDATE users SET revoked_sessions = revoked_sessions + 1 WHERE id = $1::uuid`, e.GetUserId())
	case *eventspb.TwitchAccountLinked:
		_, err = tx.Exec(ctx, `UPDATE users SET twitch_user_id = $2, twitch_login = $3 WHERE id = $1::uuid`,
			e.GetUserId(), e.GetTwitchUserId(), e.GetTwitchLogin())
	case *eventspb.UserErased:
		// The key cache must not serve this user's keys again, even if the
		// erasure's notification has not arrived yet.
		p.keys.Forget(e.GetUserId())
		_, err = tx.Exec(ctx, `UPDATE users SET email = '', erased_at = greatest(erased_at, $2) WHERE id = $1::uuid`,
			e.GetUserId(), e.GetErasedAt().AsTime())
	case *eventspb.UserRoleChanged:
		_, err = tx.Exec(ctx, `UPDATE users SET role = $2 WHERE id = $1::uuid`, e.GetUserId(), e.GetRole())
	default:
		return nil // not a user event this projector tracks
	}
	if err != nil {
		return fmt.Errorf("users projector: %w", err)
	}
	return nil
}

func methodName(m eventspb.AuthMethod) string {
	return strings.ToLower(strings.TrimPrefix(m.String(), "AUTH_METHOD_"))
}
