package integration

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	"github.com/oof-gg/platform/pkg/validate"
)

// Limits of command/game (validate.go).
const (
	propGameNameMax  = 100
	propGameShortMax = 280
	propGameDescMax  = 4000
	propGameURLMax   = 2048
)

func (w *propWorld) createGame() *propCall {
	creator := pick(w.r, append([]propActor{w.admin}, w.devs...))
	if chance(w.r, 0.1) {
		creator = pick(w.r, w.everyone()) // players and services may not
	}
	req := &gamepb.GameCreateRequest{
		Name:             textChars(w.r, 1, propGameNameMax),
		ShortDescription: maybeText(w.r, 0, propGameShortMax),
		ImageUrl:         maybeText(w.r, 0, propGameURLMax),
		Data:             jsonData(w.r),
	}
	if chance(w.r, 0.7) {
		req.Description = textChars(w.r, 0, propGameDescMax)
	}
	if chance(w.r, 0.6) {
		req.MaxSessions = proto.String(positiveCount(w.r, 40))
	}
	if chance(w.r, 0.6) {
		req.MaxPlayersPerSession = proto.String(positiveCount(w.r, 12))
	}
	return &propCall{op: "CreateGame", req: req,
		run: func(ctx context.Context, opts ...grpc.CallOption) (proto.Message, error) {
			return w.games.CreateGame(creator.ctx(ctx), req, opts...)
		},
		ok: func(resp proto.Message) {
			g := resp.(*gamepb.StandardResponse).GetSingleGame()
			w.known.games = append(w.known.games, &propGame{id: g.GetId(), owner: creator,
				maxPlayers: validate.Count(g.GetMaxPlayersPerSession())})
		},
	}
}

func (w *propWorld) updateGame() *propCall {
	if len(w.known.games) == 0 {
		return nil
	}
	g := pick(w.r, w.known.games)
	actor := g.owner
	switch {
	case chance(w.r, 0.15):
		actor = w.admin
	case chance(w.r, 0.1):
		actor = pick(w.r, w.everyone())
	}
	req := &gamepb.GameUpdateRequest{Id: g.id, Data: jsonData(w.r),
		ShortDescription: maybeText(w.r, 0, propGameShortMax), ImageUrl: maybeText(w.r, 0, propGameURLMax)}
	if chance(w.r, 0.5) {
		req.Name = textChars(w.r, 1, propGameNameMax)
	}
	if chance(w.r, 0.5) {
		req.Description = textChars(w.r, 0, propGameDescMax)
	}
	if chance(w.r, 0.3) {
		req.MaxSessions = proto.String(positiveCount(w.r, 40))
	}
	if chance(w.r, 0.3) {
		req.MaxPlayersPerSession = proto.String(positiveCount(w.r, 12))
	}
	return &propCall{op: "UpdateGame", req: req,
		run: func(ctx context.Context, opts ...grpc.CallOption) (proto.Message, error) {
			return w.games.UpdateGame(actor.ctx(ctx), req, opts...)
		},
		ok: func(resp proto.Message) {
			g.maxPlayers = validate.Count(resp.(*gamepb.StandardResponse).GetSingleGame().GetMaxPlayersPerSession())
		},
	}
}
