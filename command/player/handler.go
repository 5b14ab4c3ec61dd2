// Package player handles CreatePlayer and UpdatePlayer of PlayerService:
// validate, authorize, and record PlayerCreated/PlayerUpdated on
// oof.player.v1 (plus UserRoleChanged on oof.user.v1 when an admin changes a
// human player's role, which is its account's role).
package player

import (
	"context"
	"errors"

	"google.golang.org/protobuf/proto"

	playerpb "github.com/oof-gg/platform/api/gen/v1/api/player"
	"github.com/oof-gg/platform/command/kit"
	"github.com/oof-gg/platform/pkg/aggregate"
	"github.com/oof-gg/platform/pkg/apperr"
	"github.com/oof-gg/platform/pkg/eventlog"
	"github.com/oof-gg/platform/projector"
)

const (
	// Projector is the read model player commands wait for.
	Projector = projector.Players
	// UsersProjector applies UserRoleChanged; a role change waits for it
	// too, so the users read model shows the new role when the call returns.
	UsersProjector = projector.Users

	// source is also that of UserRoleChanged: the role change is decided
	// here, not by the auth commands.
	source = "/oof/command/player"
)

// Handler handles the player commands.
type Handler struct {
	kit.Deps
	Topic     string // full oof.player.v1 name
	UserTopic string // full oof.user.v1 name, for UserRoleChanged
}

func (h *Handler) event(id string, m proto.Message) eventlog.Event {
	return kit.NewEvent(h.Topic, id, "player/"+id, source, m)
}

func (h *Handler) userEvent(userID string, m proto.Message) eventlog.Event {
	return kit.NewEvent(h.UserTopic, userID, "user/"+userID, source, m)
}

// execute runs decide through kit.Deps.ExecuteFor: a role change also
// feeds the users read model (UserRoleChanged), and both are waited for.
func (h *Handler) execute(ctx context.Context, decide func(aggregate.Tx) ([]eventlog.Event, error)) error {
	return h.ExecuteFor(ctx, func(pos eventlog.Position) string {
		if pos.Topic == h.UserTopic {
			return UsersProjector
		}
		return Projector
	}, decide)
}

// loaded is a player's write-model record and decoded state.
type loaded struct {
	rec    aggregate.Record
	player *playerpb.Player
}

// load reads a player without locking it: the decision is optimistic and
// Save fails ABORTED if another write got in between.
func load(ctx context.Context, tx aggregate.Tx, id string) (loaded, error) {
	rec, err := tx.Get(ctx, aggregate.KindPlayer, id)
	if errors.Is(err, aggregate.ErrNotFound) {
		return loaded{}, apperr.NotFound("player not found")
	}
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
