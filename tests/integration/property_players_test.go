package integration

import (
	"context"
	"fmt"
	"math"
	"strings"

	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	playerpb "github.com/oof-gg/platform/api/gen/v1/api/player"
)

// Limits of command/player (rules.go).
const propTeamMax = 64

var propRoles = []string{"player", "developer", "admin", "service"}

// username follows the account rule: 3..32 of [A-Za-z0-9_.-].
func (w *propWorld) username() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-"
	n := length(w.r, 3, 32)
	var b strings.Builder
	for range n {
		b.WriteByte(alphabet[w.r.IntN(len(alphabet))])
	}
	return b.String()
}

// uuid is a random (version 4) UUID drawn from the seeded generator.
func (w *propWorld) uuid() string {
	var u uuid.UUID
	for i := range u {
		u[i] = byte(w.r.IntN(256))
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return u.String()
}

func (w *propWorld) score() int32 {
	return []int32{0, 1, math.MaxInt32, w.r.Int32()}[w.r.IntN(4)]
}

func (w *propWorld) createPlayer() *propCall {
	actor := pick(w.r, w.everyone())
	req := &playerpb.Player{Status: playerpb.PlayerStatus(w.r.IntN(2)), Team: maybeText(w.r, 0, propTeamMax)}
	if actor.role == "admin" || actor.role == "service" || chance(w.r, 0.05) {
		req.Score = w.score() // others are refused a score
	}
	if chance(w.r, 0.5) {
		req.Email = proto.String(fmt.Sprintf("p%d.x-y_z@example.com", w.r.IntN(1e9)))
	}
	if chance(w.r, 0.5) { // HUMAN: the caller's own profile, once
		if chance(w.r, 0.5) {
			req.Id = actor.id
		}
		if chance(w.r, 0.5) {
			req.Username = w.username()
		}
		if chance(w.r, 0.3) {
			req.Role = proto.String(actor.role)
			if actor.role == "admin" {
				req.Role = proto.String(pick(w.r, propRoles))
			}
		}
	} else { // AI: developers and admins
		req.Type = playerpb.PlayerType_AI
		req.Username = w.username()
		if chance(w.r, 0.3) {
			req.Id = w.uuid()
		}
		if chance(w.r, 0.3) {
			req.Role = proto.String(actor.role)
		}
	}
	return &propCall{op: "CreatePlayer", req: req,
		run: func(ctx context.Context, opts ...grpc.CallOption) (proto.Message, error) {
			return w.players.CreatePlayer(actor.ctx(ctx), req, opts...)
		},
		ok: func(resp proto.Message) {
			p := resp.(*playerpb.StandardResponse).GetSinglePlayer()
			w.known.players = append(w.known.players, &propPlayer{id: p.GetId(), owner: actor})
		},
	}
}

func (w *propWorld) updatePlayer() *propCall {
	if len(w.known.players) == 0 {
		return nil
	}
	p := pick(w.r, w.known.players)
	actor := p.owner
	switch {
	case chance(w.r, 0.3):
		actor = w.admin
	case chance(w.r, 0.1):
		actor = pick(w.r, w.everyone())
	}
	req := &playerpb.PlayerUpdate{Id: p.id}
	if chance(w.r, 0.5) {
		req.Team = proto.String(textChars(w.r, 0, propTeamMax)) // "" clears it
	}
	if chance(w.r, 0.4) {
		req.Status = playerpb.PlayerStatus(w.r.IntN(2)).Enum()
	}
	if chance(w.r, 0.15) {
		req.Type = playerpb.PlayerType(w.r.IntN(2)).Enum()
	}
	if chance(w.r, 0.15) {
		req.Role = proto.String(pick(w.r, propRoles))
	}
	return &propCall{op: "UpdatePlayer", req: req,
		run: func(ctx context.Context, opts ...grpc.CallOption) (proto.Message, error) {
			return w.players.UpdatePlayer(actor.ctx(ctx), req, opts...)
		},
		ok: func(proto.Message) {},
	}
}
