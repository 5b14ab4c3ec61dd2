package integration

import (
	"context"
	"slices"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	stdpb "github.com/oof-gg/platform/api/gen/v1/std"
)

// Limits of command/session (rules.go).
const (
	propAttrsMax      = 64
	propAttrKeyMax    = 64   // bytes
	propAttrStringMax = 1024 // bytes
	propUserIDMax     = 64   // bytes
	propUsersMax      = 1000 // per request
)

var propStates = []gamepb.GameState{
	gamepb.GameState_STATE_CREATED, gamepb.GameState_STATE_WAITING, gamepb.GameState_STATE_STARTED,
	gamepb.GameState_STATE_FINISHED, gamepb.GameState_STATE_DELETED, gamepb.GameState_STATE_PAUSED, gamepb.GameState_STATE_QUEUED,
}

var propInitialStates = []gamepb.GameState{
	gamepb.GameState_STATE_CREATED, gamepb.GameState_STATE_WAITING, gamepb.GameState_STATE_QUEUED, gamepb.GameState_STATE_STARTED,
}

func (w *propWorld) gameAttr() *gamepb.GameAttribute {
	switch w.r.IntN(4) {
	case 0:
		return &gamepb.GameAttribute{Value: &gamepb.GameAttribute_StringValue{StringValue: textBytes(w.r, 0, propAttrStringMax)}}
	case 1:
		return &gamepb.GameAttribute{Value: &gamepb.GameAttribute_IntValue{IntValue: extremeInt32(w.r)}}
	case 2:
		return &gamepb.GameAttribute{Value: &gamepb.GameAttribute_FloatValue{FloatValue: extremeFloat32(w.r)}}
	default:
		return &gamepb.GameAttribute{Value: &gamepb.GameAttribute_BoolValue{BoolValue: chance(w.r, 0.5)}}
	}
}

// sessionAttrs is absent, empty, or up to room attributes, some under the
// given existing keys (an update overwrites them).
func (w *propWorld) sessionAttrs(existing map[string]bool, room int) map[string]*gamepb.GameAttribute {
	switch w.r.IntN(4) {
	case 0:
		return nil
	case 1:
		return map[string]*gamepb.GameAttribute{}
	}
	attrs := map[string]*gamepb.GameAttribute{}
	for k := range existing {
		if chance(w.r, 0.3) {
			attrs[k] = w.gameAttr()
		}
	}
	for range length(w.r, 0, room) {
		attrs[textBytes(w.r, 1, propAttrKeyMax)] = w.gameAttr()
	}
	return attrs
}

func (w *propWorld) region() *stdpb.RegionEnum {
	if chance(w.r, 0.4) {
		return nil
	}
	return stdpb.RegionEnum(w.r.IntN(len(stdpb.RegionEnum_name))).Enum()
}

// userList is distinct user ids: the worker's users and arbitrary text ids
// (managers may list anyone), n of them.
func (w *propWorld) userList(n int) []string {
	var ids []string
	everyone := w.everyone()
	for len(ids) < n {
		id := textBytes(w.r, 1, propUserIDMax)
		if chance(w.r, 0.5) {
			id = pick(w.r, everyone).id
		}
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	return ids
}

// playerCount is how many players to list under a cap of maxPlayers: mostly
// within it, sometimes one over (refused), sometimes the request maximum.
func (w *propWorld) playerCount(maxPlayers int) int {
	switch {
	case chance(w.r, 0.05):
		return min(maxPlayers+1, propUsersMax)
	case chance(w.r, 0.02):
		return min(maxPlayers, propUsersMax)
	default:
		return length(w.r, 0, min(maxPlayers, 8))
	}
}

func (w *propWorld) createSession() *propCall {
	if len(w.known.games) == 0 {
		return nil
	}
	g := pick(w.r, w.known.games)
	req := &gamepb.SessionCreate{GameId: g.id, State: pick(w.r, propInitialStates),
		Attributes: w.sessionAttrs(nil, propAttrsMax), Region: w.region(), Data: jsonData(w.r)}
	var host propActor
	switch n := w.r.IntN(10); {
	case n < 5: // a player hosts, listing nobody, an empty list, or only itself
		host = pick(w.r, w.members)
		switch w.r.IntN(3) {
		case 0:
			req.UserIds = []string{}
		case 1:
			req.UserIds = []string{host.id}
		}
		if chance(w.r, 0.05) {
			req.UserIds = w.userList(2) // listing others: managers only
		}
	default: // a manager lists anyone
		host = pick(w.r, []propActor{g.owner, w.admin, w.service})
		req.UserIds = w.userList(w.playerCount(g.maxPlayers))
	}
	return &propCall{op: "CreateSession", req: req,
		run: func(ctx context.Context, opts ...grpc.CallOption) (proto.Message, error) {
			return w.games.CreateSession(host.ctx(ctx), req, opts...)
		},
		ok: func(resp proto.Message) {
			s := resp.(*gamepb.StandardResponse).GetSession()
			ps := &propSession{id: s.GetId(), gameID: g.id, host: host, gameOwner: g.owner}
			w.learnSession(ps, s)
			w.known.sessions = append(w.known.sessions, ps)
		},
	}
}

func (w *propWorld) learnSession(ps *propSession, s *gamepb.Session) {
	if ps.attrKeys == nil || ps.state != s.GetState() {
		// Which moves of the state machine the run took (and how often a
		// session nobody is listed in finished: the case of issue 6).
		from := "new"
		if ps.attrKeys != nil {
			from = ps.state.String()
		}
		w.tally["  session "+from+" -> "+s.GetState().String()]++
		if s.GetState() == gamepb.GameState_STATE_FINISHED && len(s.GetUserIds()) == 0 {
			w.tally["  session without user_ids FINISHED"]++
		}
	}
	ps.state = s.GetState()
	ps.users = s.GetUserIds()
	ps.attrKeys = map[string]bool{}
	for k := range s.GetAttributes() {
		ps.attrKeys[k] = true
	}
	ps.terminal = s.GetState() == gamepb.GameState_STATE_FINISHED || s.GetState() == gamepb.GameState_STATE_DELETED
}

func (w *propWorld) gameOf(id string) *propGame {
	for _, g := range w.known.games {
		if g.id == id {
			return g
		}
	}
	return nil
}

func (w *propWorld) updateSession() *propCall {
	s := w.liveSession()
	if s == nil || chance(w.r, 0.05) {
		if len(w.known.sessions) == 0 {
			return nil
		}
		s = pick(w.r, w.known.sessions) // maybe over: refused
	}
	actor := w.sessionActor(s)
	req := &gamepb.SessionUpdate{Id: s.id, Attributes: w.sessionAttrs(s.attrKeys, propAttrsMax-len(s.attrKeys)),
		Region: w.region(), Data: jsonData(w.r)}
	if chance(w.r, 0.5) {
		req.GameId = s.gameID
	}
	if chance(w.r, 0.6) {
		req.State = pick(w.r, propStates)
	}
	if chance(w.r, 0.3) {
		switch {
		case actor.id == s.gameOwner.id || actor.role == "admin" || actor.role == "service" || chance(w.r, 0.05):
			// Managers list anyone (anyone else is refused).
			req.UserIds = w.userList(max(1, w.playerCount(w.gameOf(s.gameID).maxPlayers)))
		case actor.id == s.host.id:
			// The host removes anyone (a kick).
			req.UserIds = slices.DeleteFunc(slices.Clone(s.users), func(string) bool { return chance(w.r, 0.3) })
		default:
			// A member may only leave: the list without itself.
			req.UserIds = slices.DeleteFunc(slices.Clone(s.users), func(u string) bool { return u == actor.id })
		}
	}
	return &propCall{op: "UpdateSession", req: req,
		run: func(ctx context.Context, opts ...grpc.CallOption) (proto.Message, error) {
			return w.games.UpdateSession(actor.ctx(ctx), req, opts...)
		},
		ok: func(resp proto.Message) { w.learnSession(s, resp.(*gamepb.StandardResponse).GetSession()) },
	}
}

func (w *propWorld) deleteSession() *propCall {
	s := w.liveSession()
	if s == nil {
		return nil
	}
	actor := pick(w.r, []propActor{s.host, s.gameOwner, w.admin, w.service})
	if chance(w.r, 0.1) {
		actor = pick(w.r, w.everyone())
	}
	req := &gamepb.SessionDelete{Id: s.id}
	if chance(w.r, 0.5) {
		req.GameId = s.gameID
	}
	return &propCall{op: "DeleteSession", req: req,
		run: func(ctx context.Context, opts ...grpc.CallOption) (proto.Message, error) {
			return w.games.DeleteSession(actor.ctx(ctx), req, opts...)
		},
		ok: func(proto.Message) {
			w.tally["  session "+s.state.String()+" -> STATE_DELETED"]++
			s.state, s.terminal = gamepb.GameState_STATE_DELETED, true
		},
	}
}
