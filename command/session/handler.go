// Package session handles CreateSession, UpdateSession and DeleteSession:
// the session state machine, player caps and authorization, recorded as
// events on oof.session.v1.
package session

import (
	"context"
	"errors"
	"slices"

	"google.golang.org/protobuf/proto"

	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	"github.com/oof-gg/platform/command/kit"
	"github.com/oof-gg/platform/pkg/aggregate"
	"github.com/oof-gg/platform/pkg/apperr"
	"github.com/oof-gg/platform/pkg/config"
	"github.com/oof-gg/platform/pkg/eventlog"
	"github.com/oof-gg/platform/projector"
)

// Projector is the read model session commands wait for.
const Projector = projector.Sessions

const source = "/oof/command/session"

// Handler handles the session commands.
type Handler struct {
	kit.Deps
	Topic string // full oof.session.v1 name
	// Quotas limit the open sessions a player hosts per game and keep a
	// share of each game's max_sessions for its managers (zero: defaults).
	Quotas config.Quotas
	// Games caches the games sessions are opened in (each create's commit
	// checks its copy is current, ExpectVersion).
	Games *aggregate.ScopeCache
}

func (h *Handler) event(id string, m proto.Message) eventlog.Event {
	return kit.NewEvent(h.Topic, id, "session/"+id, source, m)
}

// loaded is a session's write-model record and decoded state.
type loaded struct {
	rec       aggregate.Record
	session   *gamepb.Session
	gameOwner string
	game      *gamepb.Game
}

func (h *Handler) load(ctx context.Context, tx aggregate.Tx, id, gameID string) (loaded, error) {
	rec, err := tx.Lock(ctx, aggregate.KindSession, id)
	if errors.Is(err, aggregate.ErrNotFound) {
		return loaded{}, apperr.NotFound("session not found")
	}
	if err != nil {
		return loaded{}, err
	}
	if gameID != "" && gameID != rec.Parent {
		return loaded{}, apperr.NotFound("session not found in this game")
	}
	s := &gamepb.Session{}
	if err := proto.Unmarshal(rec.State, s); err != nil {
		return loaded{}, apperr.Internal("decode session", err)
	}
	// The game is read, not locked: its owner and limits rarely change, and
	// locking it would serialize every session update of a game.
	grec, err := tx.Get(ctx, aggregate.KindGame, rec.Parent)
	if err != nil {
		return loaded{}, err
	}
	g := &gamepb.Game{}
	if err := proto.Unmarshal(grec.State, g); err != nil {
		return loaded{}, apperr.Internal("decode game", err)
	}
	return loaded{rec: rec, session: s, gameOwner: grec.Owner, game: g}, nil
}

func (h *Handler) save(ctx context.Context, tx aggregate.Tx, l loaded) error {
	state, err := proto.MarshalOptions{Deterministic: true}.Marshal(l.session)
	if err != nil {
		return apperr.Internal("encode session", err)
	}
	l.rec.State = state
	wasLive := l.rec.Live
	l.rec.Live = !Terminal(l.session.GetState())
	if wasLive && !l.rec.Live {
		countEnded(tx, l.rec.Parent, l.rec.Owner)
	}
	return tx.Save(ctx, l.rec, l.rec.Version)
}

// diff returns who joined and who left between two player lists.
func diff(before, after []string) (joined, left []string) {
	for _, u := range after {
		if !slices.Contains(before, u) {
			joined = append(joined, u)
		}
	}
	for _, u := range before {
		if !slices.Contains(after, u) {
			left = append(left, u)
		}
	}
	return joined, left
}
