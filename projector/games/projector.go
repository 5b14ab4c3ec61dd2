// Package games projects oof.game.v1 into the games read model.
package games

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"

	eventspb "github.com/oof-gg/platform/api/gen/oof/events/v1"
	"github.com/oof-gg/platform/pkg/eventlog"
	"github.com/oof-gg/platform/pkg/projection"
	"github.com/oof-gg/platform/projector"
)

// Name is the projector's name.
const Name = projector.Games

// Projector maintains the games table.
type Projector struct{ topic string }

// New returns a projector reading the full oof.game.v1 topic name.
func New(gameTopic string) *Projector { return &Projector{topic: gameTopic} }

func (p *Projector) Name() string     { return Name }
func (p *Projector) Topics() []string { return []string{p.topic} }

func (p *Projector) Reset(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, `TRUNCATE games`)
	return err
}

// Apply stores the game's state as carried by the event; the version guard
// keeps an older event from overwriting a newer state.
func (p *Projector) Apply(ctx context.Context, tx pgx.Tx, env eventlog.Envelope, msg proto.Message) error {
	var err error
	switch e := msg.(type) {
	case *eventspb.GameCreated:
		snap, merr := projection.Snapshot(e.GetGame())
		if merr != nil {
			return merr
		}
		_, err = tx.Exec(ctx, `INSERT INTO games (id, owner_id, version, snapshot, name, created_at, updated_at)
			VALUES ($1::uuid, $2, $3, $4, $5, $6, $6) ON CONFLICT (id) DO NOTHING`,
			e.GetGame().GetId(), e.GetOwnerId(), e.GetVersion(), snap, e.GetGame().GetName(), e.GetCreatedAt().AsTime())
	case *eventspb.GameUpdated:
		snap, merr := projection.Snapshot(e.GetGame())
		if merr != nil {
			return merr
		}
		_, err = tx.Exec(ctx, `UPDATE games SET version = $2, snapshot = $3, name = $4, updated_at = $5
			WHERE id = $1::uuid AND version < $2`,
			e.GetGame().GetId(), e.GetVersion(), snap, e.GetGame().GetName(), e.GetUpdatedAt().AsTime())
	default:
		return nil
	}
	if err != nil {
		return fmt.Errorf("games projector: %w", err)
	}
	return nil
}
