package main

// The entity scenarios: CreateEntity against the insert+commit floor,
// GetEntity against the one-row-read floor.

import (
	"context"
	"errors"

	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
)

const (
	nameCreateEntity = "CreateEntity"
	nameGetEntity    = "GetEntity"
)

// entityFixture is a developer's sessions, spread over a few games, to put
// entities in.
type entityFixture struct {
	*sessionFixture
	sessions []*gamepb.Session
}

func (b *bench) entityFixture(ctx context.Context, prefix string, games, sessions int) (*entityFixture, error) {
	sf, err := b.sessionFixture(ctx, prefix, games)
	if err != nil {
		return nil, err
	}
	f := &entityFixture{sessionFixture: sf}
	for i := range sessions {
		resp, err := b.games(0).CreateSession(sf.with(ctx), &gamepb.SessionCreate{GameId: sf.games[i%len(sf.games)]})
		if err != nil {
			return nil, err
		}
		f.sessions = append(f.sessions, resp.GetSession())
	}
	return f, nil
}

func entityRequest(s *gamepb.Session) *gamepb.EntityCreateRequest {
	return &gamepb.EntityCreateRequest{Name: "crate", Type: "prop", SessionId: s.GetId(), GameId: s.GetGameId(),
		Attributes: map[string]*gamepb.EntityAttribute{"hp": {Value: &gamepb.EntityAttribute_IntValue{IntValue: 100}}}}
}

// createEntity: every caller adds entities to a session of its own (the
// per-session entity cap is counted under the session's lock), the sessions
// spread over several games and so over the topic's partitions.
func createEntity(b *bench) scenario {
	var f *entityFixture
	conc := b.concurrency(32)
	return scenario{
		name:        nameCreateEntity,
		concurrency: conc,
		setup: func(ctx context.Context) (err error) {
			f, err = b.entityFixture(ctx, "de", 4, conc)
			return err
		},
		op: func(ctx context.Context, w, _ int) error {
			resp, err := b.games(w).CreateEntity(f.with(ctx), entityRequest(f.sessions[w]))
			if err == nil && resp.GetEntity().GetId() == "" {
				err = errors.New("no entity returned")
			}
			return err
		},
	}.withCommandGoal()
}

// getEntity reads 200 entities by id (the live Redis copy when current,
// else the entities table).
func getEntity(b *bench) scenario {
	var f *entityFixture
	var entities []*gamepb.Entity
	return scenario{
		name:        nameGetEntity,
		concurrency: b.concurrency(32),
		setup: func(ctx context.Context) (err error) {
			if f, err = b.entityFixture(ctx, "dge", 1, 4); err != nil {
				return err
			}
			for i := range 200 {
				resp, err := b.games(0).CreateEntity(f.with(ctx), entityRequest(f.sessions[i%len(f.sessions)]))
				if err != nil {
					return err
				}
				entities = append(entities, resp.GetEntity())
			}
			return nil
		},
		op: func(ctx context.Context, w, i int) error {
			e := entities[(w*7+i)%len(entities)]
			resp, err := b.games(w).GetEntity(f.with(ctx), &gamepb.EntityGetRequest{
				Id: e.GetId(), SessionId: e.GetSessionId(), GameId: e.GetGameId()})
			if err == nil && resp.GetEntity().GetId() != e.GetId() {
				err = errors.New("wrong entity returned")
			}
			return err
		},
		goal:        "≥ 0.6× floor ops/s",
		floor:       nameReadFloor,
		minOpsRatio: 0.6,
	}
}
