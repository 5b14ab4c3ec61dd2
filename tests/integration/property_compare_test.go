package integration

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/jackc/pgx/v5"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	commonpb "github.com/oof-gg/platform/api/gen/v1/api/common"
	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	playerpb "github.com/oof-gg/platform/api/gen/v1/api/player"
	"github.com/oof-gg/platform/tests/harness"
)

// writeAggregate is a row of command_aggregates, the command write model.
type writeAggregate struct {
	kind, id, parent string
	live             bool
	version          int64
	state            []byte
}

func loadWriteModel(t *testing.T, ctx context.Context, e *harness.Env) []writeAggregate {
	t.Helper()
	rows, err := e.Pool.Query(ctx, `SELECT kind, id, coalesce(parent_id, ''), live, version, state FROM command_aggregates
		WHERE kind IN ('game', 'session', 'entity', 'player') ORDER BY kind, id`)
	if err != nil {
		t.Fatal(err)
	}
	aggs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (writeAggregate, error) {
		var a writeAggregate
		return a, r.Scan(&a.kind, &a.id, &a.parent, &a.live, &a.version, &a.state)
	})
	if err != nil {
		t.Fatal(err)
	}
	return aggs
}

// decodeAs decodes a snapshot into a fresh message of m's type.
func decodeAs(m proto.Message, b []byte) (proto.Message, error) {
	out := m.ProtoReflect().New().Interface()
	return out, proto.Unmarshal(b, out)
}

// readRow is the read model's row of an aggregate.
type readRow struct {
	version  int64
	snapshot []byte
	deleted  bool // entities: deleted; sessions: state column differs from the snapshot
}

func readModelRow(ctx context.Context, e *harness.Env, a writeAggregate) (readRow, error) {
	var r readRow
	var err error
	switch a.kind {
	case "game":
		err = e.Pool.QueryRow(ctx, `SELECT version, snapshot FROM games WHERE id = $1::uuid`, a.id).Scan(&r.version, &r.snapshot)
	case "session":
		var state int32
		err = e.Pool.QueryRow(ctx, `SELECT version, snapshot, state FROM sessions WHERE id = $1::uuid`, a.id).Scan(&r.version, &r.snapshot, &state)
		s := &gamepb.Session{}
		if err == nil && (proto.Unmarshal(r.snapshot, s) != nil || int32(s.GetState()) != state) {
			err = fmt.Errorf("state column %d disagrees with the snapshot's %v", state, s.GetState())
		}
	case "entity":
		err = e.Pool.QueryRow(ctx, `SELECT version, snapshot, deleted FROM entities WHERE id = $1::uuid`, a.id).Scan(&r.version, &r.snapshot, &r.deleted)
	case "player":
		err = e.Pool.QueryRow(ctx, `SELECT version, snapshot FROM players WHERE id = $1`, a.id).Scan(&r.version, &r.snapshot)
	}
	return r, err
}

var messageOfKind = map[string]proto.Message{
	"game": &gamepb.Game{}, "session": &gamepb.Session{}, "entity": &gamepb.Entity{}, "player": &playerpb.Player{},
}

// requireReadModelsEqualWriteModel: every aggregate's read-model row holds
// the same state (decoded, proto.Equal) and version as the write model, no
// read model has rows the write model lacks, every finished session has its
// match_history row, and the users read model agrees with the accounts.
//
// setupRoles are the accounts whose role the test set in auth_accounts
// directly, as an operator does (no event): they may differ from the users
// read model exactly as they did after the setup, never otherwise.
func requireReadModelsEqualWriteModel(t *testing.T, e *harness.Env, setupRoles map[string]accountDiff) map[string]int {
	t.Helper()
	ctx := context.Background()
	counts := map[string]int{}
	finished := 0
	problems := 0
	problem := func(format string, args ...any) {
		problems++
		if problems <= 20 {
			t.Errorf(format, args...)
		}
	}
	for _, a := range loadWriteModel(t, ctx, e) {
		counts[a.kind]++
		want, err := decodeAs(messageOfKind[a.kind], a.state)
		if err != nil {
			problem("write model %s %s does not decode: %v", a.kind, a.id, err)
			continue
		}
		row, err := readModelRow(ctx, e, a)
		if err != nil {
			problem("read model of %s %s: %v", a.kind, a.id, err)
			continue
		}
		got, err := decodeAs(messageOfKind[a.kind], row.snapshot)
		switch {
		case err != nil:
			problem("read model snapshot of %s %s does not decode: %v", a.kind, a.id, err)
		case !proto.Equal(got, want):
			problem("%s %s: read model\n  %v\nwrite model\n  %v", a.kind, a.id, got, want)
		case row.version != a.version:
			problem("%s %s: read model version %d, write model %d", a.kind, a.id, row.version, a.version)
		case a.kind == "entity" && row.deleted == a.live:
			problem("entity %s: deleted %v in the read model, live %v in the write model", a.id, row.deleted, a.live)
		}
		if s, ok := want.(*gamepb.Session); ok && s.GetState() == gamepb.GameState_STATE_FINISHED {
			finished++
			requireMatchHistory(ctx, e, s, problem)
		}
	}
	for kind, table := range map[string]string{"game": "games", "session": "sessions", "entity": "entities", "player": "players"} {
		if n := countIn(t, ctx, e, `SELECT count(*) FROM `+table); n != counts[kind] {
			problem("%s holds %d rows for %d %s aggregates", table, n, counts[kind], kind)
		}
	}
	if n := countIn(t, ctx, e, `SELECT count(*) FROM match_history`); n != finished {
		problem("match_history holds %d rows for %d finished sessions", n, finished)
	}
	for id, diff := range accountDifferences(t, ctx, e) {
		if setupRoles[id] != diff {
			problem("account %s differs from its users read-model row: %v", id, diff)
		}
	}
	if problems > 0 {
		t.Fatalf("%d differences between the read models and the write model", problems)
	}
	return counts
}

// accountDiff is how an account and its users read-model row differ.
type accountDiff struct{ account, readModel string }

// accountDifferences lists accounts whose users row is missing or has
// another role or name (and rows without an account).
func accountDifferences(t *testing.T, ctx context.Context, e *harness.Env) map[string]accountDiff {
	t.Helper()
	rows, err := e.Pool.Query(ctx, `SELECT coalesce(a.user_id, u.id)::text,
		coalesce(a.username || ' as ' || a.role, 'no account'), coalesce(u.username || ' as ' || u.role, 'no row')
		FROM auth_accounts a FULL JOIN users u ON u.id = a.user_id
		WHERE a.user_id IS NULL OR u.id IS NULL OR u.role <> a.role OR u.username <> a.username`)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]accountDiff{}
	for rows.Next() {
		var id string
		var d accountDiff
		if err := rows.Scan(&id, &d.account, &d.readModel); err != nil {
			t.Fatal(err)
		}
		out[id] = d
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func requireMatchHistory(ctx context.Context, e *harness.Env, s *gamepb.Session, problem func(string, ...any)) {
	var users []string
	var snap []byte
	err := e.Pool.QueryRow(ctx, `SELECT user_ids, final_snapshot FROM match_history WHERE session_id = $1::uuid AND game_id = $2::uuid`,
		s.GetId(), s.GetGameId()).Scan(&users, &snap)
	if err != nil {
		problem("match_history of finished session %s: %v", s.GetId(), err)
		return
	}
	final := &gamepb.Session{}
	if !slices.Equal(users, s.GetUserIds()) || users == nil || proto.Unmarshal(snap, final) != nil || !proto.Equal(final, s) {
		problem("match_history of %s: user_ids %q (want %q, never NULL), final %v", s.GetId(), users, s.GetUserIds(), final)
	}
}

func countIn(t *testing.T, ctx context.Context, e *harness.Env, query string) int {
	t.Helper()
	var n int
	if err := e.Pool.QueryRow(ctx, query).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// sampleQueries asks the query RPCs for a random sample of every kind of
// aggregate, as an admin (who sees every field), and compares the answers
// with the write model.
func sampleQueries(t *testing.T, e *harness.Env, w *propWorld, r *rand.Rand) {
	t.Helper()
	ctx := w.admin.ctx(context.Background())
	gs, ps := commonpb.NewGameServiceClient(e.Conn), commonpb.NewPlayerServiceClient(e.Conn)
	aggs := loadWriteModel(t, context.Background(), e)
	r.Shuffle(len(aggs), func(i, j int) { aggs[i], aggs[j] = aggs[j], aggs[i] })
	asked := map[string]int{}
	for _, a := range aggs {
		if asked[a.kind] >= 25 {
			continue
		}
		asked[a.kind]++
		want, _ := decodeAs(messageOfKind[a.kind], a.state)
		got, version, err := queryAggregate(ctx, gs, ps, a, want)
		switch {
		case a.kind == "entity" && !a.live:
			if status.Code(err) != codes.NotFound {
				t.Errorf("GetEntity of deleted entity %s: %v, %v", a.id, got, err)
			}
		case err != nil:
			t.Errorf("query %s %s: %v", a.kind, a.id, err)
		case !proto.Equal(got, want):
			t.Errorf("query %s %s answered\n  %v\nwrite model\n  %v", a.kind, a.id, got, want)
		case version != "" && version != strconv.FormatInt(a.version, 10):
			t.Errorf("GetEntity %s: version %s, write model %d", a.id, version, a.version)
		}
	}
	t.Logf("queried %v aggregates through the query RPCs", asked)
}

func queryAggregate(ctx context.Context, gs commonpb.GameServiceClient, ps commonpb.PlayerServiceClient,
	a writeAggregate, want proto.Message) (proto.Message, string, error) {
	switch a.kind {
	case "game":
		resp, err := gs.GetGame(ctx, &gamepb.GameGetRequest{Id: &a.id})
		return resp.GetGame(), "", err
	case "session":
		resp, err := gs.GetSession(ctx, &gamepb.SessionGet{Id: &a.id})
		return resp.GetSession(), "", err
	case "entity":
		var md metadata.MD
		resp, err := gs.GetEntity(ctx, &gamepb.EntityGetRequest{Id: a.id, SessionId: a.parent,
			GameId: want.(*gamepb.Entity).GetGameId()}, grpc.Header(&md))
		return resp.GetEntity(), first(md.Get("x-oof-version")), err
	case "player":
		resp, err := ps.GetPlayer(ctx, &playerpb.PlayerGet{Id: &a.id})
		return resp.GetSinglePlayer(), "", err
	}
	return nil, "", errors.New("unknown kind " + a.kind)
}
