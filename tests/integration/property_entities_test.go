package integration

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
)

// Limits of command/entity (rules.go).
const (
	propEntityNameMax     = 100
	propEntityTypeMax     = 64
	propEntityPlayerIDMax = 64
)

func (w *propWorld) entityAttr() *gamepb.EntityAttribute {
	switch w.r.IntN(4) {
	case 0:
		return &gamepb.EntityAttribute{Value: &gamepb.EntityAttribute_StringValue{StringValue: textBytes(w.r, 0, propAttrStringMax)}}
	case 1:
		return &gamepb.EntityAttribute{Value: &gamepb.EntityAttribute_IntValue{IntValue: extremeInt32(w.r)}}
	case 2:
		return &gamepb.EntityAttribute{Value: &gamepb.EntityAttribute_FloatValue{FloatValue: extremeFloat32(w.r)}}
	default:
		return &gamepb.EntityAttribute{Value: &gamepb.EntityAttribute_BoolValue{BoolValue: chance(w.r, 0.5)}}
	}
}

func (w *propWorld) createEntity() *propCall {
	s := w.liveSession()
	if s == nil {
		return nil
	}
	actor := w.sessionActor(s)
	req := &gamepb.EntityCreateRequest{SessionId: s.id, GameId: s.gameID,
		Name: textChars(w.r, 1, propEntityNameMax), Type: textChars(w.r, 1, propEntityTypeMax),
		Controller: gamepb.EntityCreateRequest_ControllerStateEnum(w.r.IntN(2)),
		PlayerId:   w.entityPlayer(s, actor), Data: jsonData(w.r)}
	if n := w.r.IntN(4); n > 0 {
		req.Attributes = map[string]*gamepb.EntityAttribute{}
		for range length(w.r, 0, []int{0, 3, 12, propAttrsMax}[n]) {
			req.Attributes[textBytes(w.r, 1, propAttrKeyMax)] = w.entityAttr()
		}
	}
	return &propCall{op: "CreateEntity", req: req,
		run: func(ctx context.Context, opts ...grpc.CallOption) (proto.Message, error) {
			return w.games.CreateEntity(actor.ctx(ctx), req, opts...)
		},
		ok: func(resp proto.Message) {
			e := resp.(*gamepb.StandardResponse).GetEntity()
			w.known.entities = append(w.known.entities, &propEntity{id: e.GetId(), sessionID: s.id, gameID: s.gameID,
				keys: len(e.GetAttributes())})
		},
	}
}

// entityPlayer is a CreateEntity player_id: none, empty, the caller, a
// member (any text a manager listed), or now and then anyone (refused).
func (w *propWorld) entityPlayer(s *propSession, actor propActor) *string {
	switch n := w.r.IntN(10); {
	case n < 3:
		return nil
	case n < 4:
		return proto.String("")
	case n < 5:
		return proto.String(actor.id)
	case n < 9 && len(s.users) > 0:
		return proto.String(pick(w.r, s.users))
	}
	return maybeText(w.r, 0, propEntityPlayerIDMax)
}

// liveEntity is an entity not deleted, or nil; mostly one of a session
// that is not over (changes to the others are refused).
func (w *propWorld) liveEntity() *propEntity {
	var live []*propEntity
	over := chance(w.r, 0.1)
	for _, e := range w.known.entities {
		if !e.deleted && (over || !w.sessionOf(e.sessionID).terminal) {
			live = append(live, e)
		}
	}
	if len(live) == 0 {
		return nil
	}
	return pick(w.r, live)
}

func (w *propWorld) sessionOf(id string) *propSession {
	for _, s := range w.known.sessions {
		if s.id == id {
			return s
		}
	}
	return nil
}

func (w *propWorld) updateEntity() *propCall {
	e := w.liveEntity()
	if e == nil {
		return nil
	}
	actor := w.sessionActor(w.sessionOf(e.sessionID))
	req := &gamepb.EntityUpdateRequest{Id: e.id, SessionId: e.sessionID, GameId: e.gameID}
	// The update's list holds one value per key of the entity, in key order;
	// an element without a value keeps that key's value; empty changes
	// nothing (command/entity applyValues).
	if chance(w.r, 0.8) {
		for range e.keys {
			v := &gamepb.EntityAttribute{}
			if chance(w.r, 0.7) {
				v = w.entityAttr()
			}
			req.Attributes = append(req.Attributes, v)
		}
	}
	return &propCall{op: "UpdateEntity", req: req,
		run: func(ctx context.Context, opts ...grpc.CallOption) (proto.Message, error) {
			return w.games.UpdateEntity(actor.ctx(ctx), req, opts...)
		},
		ok: func(proto.Message) {},
	}
}

func (w *propWorld) deleteEntity() *propCall {
	e := w.liveEntity()
	if e == nil {
		return nil
	}
	actor := w.sessionActor(w.sessionOf(e.sessionID))
	req := &gamepb.EntityDeleteRequest{Id: e.id, SessionId: e.sessionID, GameId: e.gameID}
	return &propCall{op: "DeleteEntity", req: req,
		run: func(ctx context.Context, opts ...grpc.CallOption) (proto.Message, error) {
			return w.games.DeleteEntity(actor.ctx(ctx), req, opts...)
		},
		ok: func(proto.Message) { e.deleted = true },
	}
}
