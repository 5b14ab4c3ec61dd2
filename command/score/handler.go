// Package score handles SubmitScore: validate, authorize, and record
// ScoreSubmitted on oof.score.v1 (keyed by player id; docs/scores.md).
// Submissions change no aggregate: every one is kept, and the boards are
// built from the log by projector/scores.
package score

import (
	"context"
	"errors"

	"google.golang.org/protobuf/proto"

	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	"github.com/oof-gg/platform/command/kit"
	"github.com/oof-gg/platform/pkg/aggregate"
	"github.com/oof-gg/platform/pkg/apperr"
	"github.com/oof-gg/platform/pkg/auth"
	"github.com/oof-gg/platform/pkg/authz"
	"github.com/oof-gg/platform/projector"
	"github.com/oof-gg/platform/projector/scores"
)

// Projector is the read model SubmitScore waits for.
const Projector = projector.Scores

const source = "/oof/command/score"

// Handler handles SubmitScore.
type Handler struct {
	kit.Deps
	Topic string // full oof.score.v1 name
}

// game is what a submission needs to know of its game.
type game struct {
	owner    string
	settings scores.Settings
}

// loadGame reads the game (a snapshot read: nothing here needs it locked)
// and its score settings.
func (h *Handler) loadGame(ctx context.Context, id string) (game, error) {
	rec, err := h.Store.Load(ctx, aggregate.KindGame, id)
	if errors.Is(err, aggregate.ErrNotFound) {
		return game{}, apperr.NotFound("game not found")
	}
	if err != nil {
		return game{}, err
	}
	g := &gamepb.Game{}
	if err := proto.Unmarshal(rec.State, g); err != nil {
		return game{}, apperr.Internal("decode game", err)
	}
	st, err := scores.ParseSettings(g.GetData())
	if err != nil {
		return game{}, apperr.FailedPrecondition("the game's score settings are invalid: " + err.Error())
	}
	return game{owner: rec.Owner, settings: st}, nil
}

// canSubmit: the game's instances (service), its owner and admins submit
// for anyone; a player only for themselves, and only where the game lets
// clients submit (data.scores.client_submit).
func canSubmit(caller auth.Principal, g game, playerID string) error {
	if authz.CanManageAnySession(caller, g.owner) {
		return nil
	}
	if caller.UserID != playerID {
		return authz.Denied("submit scores for another player (game instances, the game's owner and admins only)")
	}
	if !g.settings.ClientSubmit {
		return authz.Denied("submit your own score in this game (its scores come from game instances; see data.scores.client_submit)")
	}
	return nil
}
