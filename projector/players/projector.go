// Package players projects oof.player.v1 into the players read model.
package players

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"

	eventspb "github.com/oof-gg/platform/api/gen/oof/events/v1"
	"github.com/oof-gg/platform/pkg/eventlog"
	"github.com/oof-gg/platform/pkg/personal"
	"github.com/oof-gg/platform/pkg/projection"
	"github.com/oof-gg/platform/projector"
)

// Name is the projector's name (consumer group and offset rows).
const Name = projector.Players

// Projector maintains the players table.
type Projector struct {
	topic string
	keys  *personal.Keys
}

// New returns a projector reading the full oof.player.v1 topic name; keys
// opens the sealed e-mails (docs/events.md, "Personal data").
func New(playerTopic string, keys *personal.Keys) *Projector {
	return &Projector{topic: playerTopic, keys: keys}
}

func (p *Projector) Name() string     { return Name }
func (p *Projector) Topics() []string { return []string{p.topic} }

// Reset empties the read model for a rebuild.
func (p *Projector) Reset(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, `TRUNCATE players`)
	return err
}

// Apply stores the player's state as carried by the event. Timestamps come
// from the events, never the clock, so a replay builds identical rows; the
// version guards keep an older event from overwriting a newer state. The
// snapshot holds the e-mail opened, or none once its owner was erased.
func (p *Projector) Apply(ctx context.Context, tx pgx.Tx, _ eventlog.Envelope, msg proto.Message) error {
	switch msg.(type) {
	case *eventspb.PlayerCreated, *eventspb.PlayerUpdated:
		msg = proto.Clone(msg)
		if _, err := p.keys.Reveal(ctx, msg); err != nil {
			return fmt.Errorf("players projector: %w", err)
		}
	}
	var err error
	switch e := msg.(type) {
	case *eventspb.PlayerCreated:
		snap, merr := projection.Snapshot(e.GetPlayer())
		if merr != nil {
			return fmt.Errorf("players projector: %w", merr)
		}
		// The creator owns the player: a HUMAN player's own user, an AI
		// player's developer.
		_, err = tx.Exec(ctx, `INSERT INTO players (id, owner_id, version, snapshot, type, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING`,
			e.GetPlayer().GetId(), e.GetCreatedBy(), e.GetVersion(), snap, int32(e.GetPlayer().GetType()), e.GetCreatedAt().AsTime())
	case *eventspb.PlayerUpdated:
		snap, merr := projection.Snapshot(e.GetPlayer())
		if merr != nil {
			return fmt.Errorf("players projector: %w", merr)
		}
		_, err = tx.Exec(ctx, `UPDATE players SET version = $2, snapshot = $3, type = $4, updated_at = $5
			WHERE id = $1 AND version < $2`,
			e.GetPlayer().GetId(), e.GetVersion(), snap, int32(e.GetPlayer().GetType()), e.GetUpdatedAt().AsTime())
	default:
		return nil // not a player event this projector tracks
	}
	if err != nil {
		return fmt.Errorf("players projector: %w", err)
	}
	return nil
}
