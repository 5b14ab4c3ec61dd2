package main

// The session scenarios: CreateSession and GetSession throughput, and the
// projection lag under a steady 1,000 commands/s.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc/metadata"

	authpb "github.com/oof-gg/platform/api/gen/v1/api/auth"
	commonpb "github.com/oof-gg/platform/api/gen/v1/api/common"
	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
)

const (
	nameCreateSession = "CreateSession"
	nameGetSession    = "GetSession"
	nameLag           = "projection lag @1,000 cmd/s"
)

// sessionFixture is a developer with games to open sessions in. Sessions are
// spread over several games because opening one locks its game (the
// max_sessions check).
type sessionFixture struct {
	ctx   context.Context // carries the developer's bearer token
	games []string
}

func (b *bench) sessionFixture(ctx context.Context, prefix string, games int) (*sessionFixture, error) {
	users, err := b.registerUsers(ctx, prefix, 1)
	if err != nil {
		return nil, err
	}
	u := users[0]
	if _, err := b.env.Pool.Exec(ctx, `UPDATE auth_accounts SET role = 'developer' WHERE lower(username) = lower($1)`, u.name); err != nil {
		return nil, err
	}
	login, err := b.client(0).Login(ctx, &authpb.LoginRequest{Username: u.name, Password: benchPassword})
	if err != nil {
		return nil, err
	}
	f := &sessionFixture{ctx: metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+login.GetAccessToken())}
	for i := range games {
		resp, err := b.games(0).CreateGame(f.with(ctx), &gamepb.GameCreateRequest{
			Name: fmt.Sprintf("bench %s %d", b.runID, i), MaxSessions: ptr("1000000"), MaxPlayersPerSession: ptr("64")})
		if err != nil {
			return nil, err
		}
		f.games = append(f.games, resp.GetSingleGame().GetId())
	}
	return f, nil
}

// with returns ctx carrying the fixture's credentials.
func (f *sessionFixture) with(ctx context.Context) context.Context {
	md, _ := metadata.FromOutgoingContext(f.ctx)
	return metadata.NewOutgoingContext(ctx, md)
}

func (b *bench) games(worker int) commonpb.GameServiceClient {
	return commonpb.NewGameServiceClient(b.conns[worker%len(b.conns)])
}

func ptr[T any](v T) *T { return &v }

// createSession: every caller opens sessions in a game of its own (opening
// one locks its game for the max_sessions check), so the callers contend
// only for what the platform shares. Its floor is a bare insert+commit.
func createSession(b *bench) scenario {
	var f *sessionFixture
	conc := b.concurrency(32)
	return scenario{
		name:        nameCreateSession,
		concurrency: conc,
		setup: func(ctx context.Context) (err error) {
			f, err = b.sessionFixture(ctx, "dc", conc)
			return err
		},
		op: func(ctx context.Context, w, _ int) error {
			resp, err := b.games(w).CreateSession(f.with(ctx), &gamepb.SessionCreate{GameId: f.games[w%len(f.games)]})
			if err == nil && resp.GetSession().GetId() == "" {
				err = errors.New("no session returned")
			}
			return err
		},
	}.withCommandGoal()
}

// getSession reads sessions by id; its floor is an empty RPC whose handler
// reads one row by primary key.
func getSession(b *bench) scenario {
	var f *sessionFixture
	var ids []string
	return scenario{
		name:        nameGetSession,
		concurrency: b.concurrency(32),
		setup: func(ctx context.Context) (err error) {
			if f, err = b.sessionFixture(ctx, "dg", 1); err != nil {
				return err
			}
			for range 200 {
				resp, err := b.games(0).CreateSession(f.with(ctx), &gamepb.SessionCreate{GameId: f.games[0]})
				if err != nil {
					return err
				}
				ids = append(ids, resp.GetSession().GetId())
			}
			return nil
		},
		op: func(ctx context.Context, w, i int) error {
			id := ids[(w*7+i)%len(ids)]
			resp, err := b.games(w).GetSession(f.with(ctx), &gamepb.SessionGet{Id: &id})
			if err == nil && resp.GetSession().GetId() != id {
				err = errors.New("wrong session returned")
			}
			return err
		},
		goal:        "≥ 0.6× floor ops/s",
		floor:       nameReadFloor,
		minOpsRatio: 0.6,
	}
}

// projectionLag sends UpdateSession at a steady 1,000/s. An update returns
// only once the sessions projector has applied its event (read-your-writes),
// so its latency bounds "event produced → visible in GetSession" from
// above: it also includes validation, the write-model transaction and the
// Kafka round trip.
func projectionLag(b *bench) scenario {
	var f *sessionFixture
	var ids []string
	const workers = 64
	return scenario{
		name:        nameLag,
		concurrency: workers,
		rate:        1000,
		setup: func(ctx context.Context) (err error) {
			if f, err = b.sessionFixture(ctx, "dl", 4); err != nil {
				return err
			}
			for i := range workers {
				resp, err := b.games(0).CreateSession(f.with(ctx), &gamepb.SessionCreate{GameId: f.games[i%len(f.games)]})
				if err != nil {
					return err
				}
				ids = append(ids, resp.GetSession().GetId())
			}
			return nil
		},
		op: func(ctx context.Context, w, i int) error {
			_, err := b.games(w).UpdateSession(f.with(ctx), &gamepb.SessionUpdate{Id: ids[w],
				Attributes: map[string]*gamepb.GameAttribute{"tick": {Value: &gamepb.GameAttribute_IntValue{IntValue: int32(i)}}}})
			return err
		},
		goal: "p99 ≤ 50 ms (upper bound of lag)",
		check: func(r result, _ map[string]result) (bool, string) {
			return r.p(0.99) <= 50*time.Millisecond, fmt.Sprintf("at %.0f cmd/s", r.opsPerSec())
		},
	}
}
