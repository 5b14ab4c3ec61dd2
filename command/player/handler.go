// Package player handles CreatePlayer and UpdatePlayer of PlayerService:
// validate, authorize, and record PlayerCreated/PlayerUpdated on
// oof.player.v1 (plus UserRoleChanged on oof.user.v1 when an admin changes a
// human player's role, which is its account's role).
package player

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/protobuf/proto"

	playerpb "github.com/oof-gg/platform/api/gen/v1/api/player"
	"github.com/oof-gg/platform/command/kit"
	"github.com/oof-gg/platform/pkg/aggregate"
	"github.com/oof-gg/platform/pkg/apperr"
	"github.com/oof-gg/platform/pkg/eventlog"
)

const (
	// Projector is the read model player commands wait for.
	Projector = "players"
	// UsersProjector applies UserRoleChanged; a role change waits for it
	// too, so the users read model shows the new role when the call returns.
	UsersProjector = "users"

	// source is also that of UserRoleChanged: the role change is decided
	// here, not by the auth commands.
	source = "/oof/command/player"
)

// Handler handles the player commands. Deps.Store is not used: player
// writes also touch auth_accounts (see writeTx), so they run their own
// transaction on Pool, the same database.
type Handler struct {
	kit.Deps
	Pool      *pgxpool.Pool
	Topic     string // full oof.player.v1 name
	UserTopic string // full oof.user.v1 name, for UserRoleChanged
}

func (h *Handler) event(id string, m proto.Message) eventlog.Event {
	return kit.NewEvent(h.Topic, id, "player/"+id, source, m)
}

func (h *Handler) userEvent(userID string, m proto.Message) eventlog.Event {
	return kit.NewEvent(h.UserTopic, userID, "user/"+userID, source, m)
}

// execute runs decide in a write transaction, publishes its events before
// the commit (so the write model never holds a change the log lacks), and
// then waits, bounded, until each read model the events feed has them
// (read-your-writes).
func (h *Handler) execute(ctx context.Context, decide func(writeTx) ([]eventlog.Event, error)) error {
	var positions []eventlog.Position
	err := inTx(ctx, h.Pool, func(tx writeTx) error {
		events, err := decide(tx)
		if err != nil || len(events) == 0 {
			return err
		}
		positions, err = h.Events.Publish(ctx, events...)
		if err != nil {
			return fmt.Errorf("publish: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	last := map[string]eventlog.Position{}
	for _, pos := range positions {
		if pos.Topic == h.UserTopic {
			last[UsersProjector] = pos
		} else {
			last[Projector] = pos
		}
	}
	for projector, pos := range last {
		h.await(ctx, projector, pos)
	}
	return nil
}

// await: a timeout is not a failure (the event is durable and will be
// applied); it is logged so slow projections show.
func (h *Handler) await(ctx context.Context, projector string, pos eventlog.Position) {
	wctx, cancel := context.WithTimeout(ctx, h.ProjectionWait)
	defer cancel()
	if err := h.Waiter.WaitFor(wctx, projector, pos); err != nil {
		h.Log.WarnContext(ctx, "projection wait ended early", "projector", projector, "err", err)
	}
}

// loaded is a player's write-model record and decoded state.
type loaded struct {
	rec    aggregate.Record
	player *playerpb.Player
}

func load(ctx context.Context, tx writeTx, id string) (loaded, error) {
	rec, err := tx.load(ctx, id)
	if err != nil {
		return loaded{}, err
	}
	p := &playerpb.Player{}
	if err := proto.Unmarshal(rec.State, p); err != nil {
		return loaded{}, apperr.Internal("decode player", err)
	}
	return loaded{rec: rec, player: p}, nil
}

func encode(p *playerpb.Player) ([]byte, error) {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(p)
	if err != nil {
		return nil, apperr.Internal("encode player", err)
	}
	return b, nil
}
