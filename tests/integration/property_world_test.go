package integration

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"google.golang.org/grpc/metadata"

	authpb "github.com/oof-gg/platform/api/gen/v1/api/auth"
	commonpb "github.com/oof-gg/platform/api/gen/v1/api/common"
	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	"github.com/oof-gg/platform/tests/harness"
)

// propActor is a signed-in user of the property test's own platform.
type propActor struct {
	id, role, token string
}

func (a propActor) ctx(ctx context.Context) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+a.token)
}

// What a worker knows of the aggregates it made, from the answers to its
// accepted commands; generators use it to build plausible next commands.
type (
	propGame struct {
		id         string
		owner      propActor
		maxPlayers int
	}
	propSession struct {
		id, gameID string
		host       propActor
		gameOwner  propActor
		state      gamepb.GameState
		users      []string
		attrKeys   map[string]bool // nil until the session is known
		terminal   bool
	}
	propEntity struct {
		id, sessionID, gameID string
		keys                  int // attribute keys, fixed at creation
		deleted               bool
	}
	propPlayer struct {
		id    string
		owner propActor
	}
)

// propWorld is one worker: its actors, its aggregates and its generator.
type propWorld struct {
	t       *testing.T
	env     *harness.Env
	id      int
	r       *rand.Rand
	games   commonpb.GameServiceClient
	players commonpb.PlayerServiceClient
	admin   propActor
	service propActor
	devs    []propActor
	members []propActor // role player
	known   struct {
		games    []*propGame
		sessions []*propSession
		entities []*propEntity
		players  []*propPlayer
	}
	tally    map[string]int
	failures int
}

func newPropWorld(t *testing.T, e *harness.Env, id int, r *rand.Rand) *propWorld {
	w := &propWorld{t: t, env: e, id: id, r: r, tally: map[string]int{},
		games: commonpb.NewGameServiceClient(e.Conn), players: commonpb.NewPlayerServiceClient(e.Conn)}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	w.admin = propSignIn(t, ctx, e, "admin")
	w.service = propSignIn(t, ctx, e, "service")
	w.devs = []propActor{propSignIn(t, ctx, e, "developer"), propSignIn(t, ctx, e, "developer")}
	w.members = []propActor{propSignIn(t, ctx, e, "player"), propSignIn(t, ctx, e, "player"), propSignIn(t, ctx, e, "player")}
	return w
}

// propSignIn registers a user on e with role and signs it in.
func propSignIn(t *testing.T, ctx context.Context, e *harness.Env, role string) propActor {
	t.Helper()
	auth := authpb.NewAuthServiceClient(e.Conn)
	name, password := uniqueName("pr"+role[:2]), "correct horse battery"
	reg, err := auth.Register(asNewClient(ctx), &authpb.RegisterRequest{Username: name, Email: name + "@example.com", Password: password})
	if err != nil {
		t.Fatalf("register %s: %v", role, err)
	}
	if role != "player" {
		if _, err := e.Pool.Exec(ctx, `UPDATE auth_accounts SET role = $2 WHERE user_id = $1`, reg.GetUserId(), role); err != nil {
			t.Fatal(err)
		}
	}
	login, err := auth.Login(asNewClient(ctx), &authpb.LoginRequest{Username: name, Password: password})
	if err != nil {
		t.Fatalf("sign in as %s: %v", role, err)
	}
	return propActor{id: reg.GetUserId(), role: role, token: login.GetAccessToken()}
}

// everyone lists the worker's actors.
func (w *propWorld) everyone() []propActor {
	return append(append([]propActor{w.admin, w.service}, w.devs...), w.members...)
}

func pick[T any](r *rand.Rand, list []T) T { return list[r.IntN(len(list))] }

// chance is true with probability p.
func chance(r *rand.Rand, p float64) bool { return r.Float64() < p }

// next draws a command. Features without the aggregates they act on fall
// back to creating them.
func (w *propWorld) next() *propCall {
	type gen struct {
		weight int
		make   func() *propCall
	}
	gens := []gen{
		{6, w.createGame}, {5, w.updateGame},
		{12, w.createSession}, {20, w.updateSession}, {4, w.deleteSession},
		{12, w.createEntity}, {10, w.updateEntity}, {3, w.deleteEntity},
		{5, w.createPlayer}, {6, w.updatePlayer},
		{4, w.unstorable}, {2, w.notUTF8},
	}
	total := 0
	for _, g := range gens {
		total += g.weight
	}
	for {
		n := w.r.IntN(total)
		for _, g := range gens {
			if n -= g.weight; n < 0 {
				if c := g.make(); c != nil {
					return c
				}
				break
			}
		}
	}
}

// liveSession is a session that is not over, or nil.
func (w *propWorld) liveSession() *propSession {
	var live []*propSession
	for _, s := range w.known.sessions {
		if !s.terminal {
			live = append(live, s)
		}
	}
	if len(live) == 0 {
		return nil
	}
	return pick(w.r, live)
}

// sessionActor is mostly someone allowed to change s (host, member,
// manager), sometimes anyone: the refusals are part of the property.
func (w *propWorld) sessionActor(s *propSession) propActor {
	if chance(w.r, 0.1) {
		return pick(w.r, w.everyone())
	}
	options := []propActor{s.host, s.gameOwner, w.admin, w.service}
	for _, m := range w.everyone() {
		for _, u := range s.users {
			if u == m.id {
				options = append(options, m)
			}
		}
	}
	return pick(w.r, options)
}
