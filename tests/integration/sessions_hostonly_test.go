package integration

import (
	"testing"

	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
)

// The case seen live (issue 6): a player opens a session of a game without
// listing any players (user_ids absent: the host hosts, nobody is listed),
// starts it and finishes it. Every command answered OK, but the sessions
// projector could not store the match (a nil []string went to PostgreSQL
// as NULL into match_history.user_ids NOT NULL) and stalled for good.
//
// Decided: match_history.user_ids is exactly the session's player list,
// here an empty array; the host of a match is sessions.host_id (a host is
// not necessarily a player: a game owner may host a match of others).
//
// No timing assertion: read-your-writes promises that the read model shows
// a command's change as soon as the command has returned, so reading right
// after each update is the check. A stalled projector (the command returns
// after the bounded wait with the read model behind) or a dead-lettered
// event both fail it.
func TestHostOnlySessionCreatedStartedFinishedReachesMatchHistory(t *testing.T) {
	ctx := testCtx(t)
	dev := signInAs(t, ctx, "developer")
	host := signInAs(t, ctx, "player")
	g := newGame(t, ctx, dev, &gamepb.GameCreateRequest{})

	created, _ := newSession(t, ctx, host, g.GetId()) // no user_ids
	if created.GetState() != gamepb.GameState_STATE_CREATED || len(created.GetUserIds()) != 0 {
		t.Fatalf("created session: %v", created)
	}
	if got := getSession(t, ctx, host, created.GetId()); got.GetState() != gamepb.GameState_STATE_CREATED {
		t.Fatalf("read right after create: %v", got)
	}
	for _, st := range []gamepb.GameState{gamepb.GameState_STATE_STARTED, gamepb.GameState_STATE_FINISHED} {
		resp, err := games().UpdateSession(host.ctx(ctx), &gamepb.SessionUpdate{Id: created.GetId(), State: st})
		if err != nil {
			t.Fatalf("-> %v: %v", st, err)
		}
		if resp.GetSession().GetState() != st {
			t.Fatalf("-> %v answered %v", st, resp.GetSession())
		}
		if got := getSession(t, ctx, host, created.GetId()); got.GetState() != st {
			t.Fatalf("read right after -> %v shows %v: the sessions projector is behind its command", st, got.GetState())
		}
	}

	var users []string
	var usersIsNull bool
	err := env.Pool.QueryRow(ctx, `SELECT user_ids, user_ids IS NULL FROM match_history
		WHERE session_id = $1 AND game_id = $2 AND final_state = $3 AND started_at IS NOT NULL`,
		created.GetId(), g.GetId(), int32(gamepb.GameState_STATE_FINISHED)).Scan(&users, &usersIsNull)
	if err != nil {
		t.Fatalf("match history of the host-only session: %v", err)
	}
	if usersIsNull || len(users) != 0 {
		t.Fatalf("match history user_ids = %v (NULL: %v), want an empty array", users, usersIsNull)
	}
	var hostID string
	if err := env.Pool.QueryRow(ctx, `SELECT host_id FROM sessions WHERE id = $1`, created.GetId()).Scan(&hostID); err != nil || hostID != host.id {
		t.Fatalf("host of the match: %q, %v; want %q", hostID, err, host.id)
	}
	// Only this session's records: other tests dead-letter hand-made ones.
	if n := countRows(t, ctx, `SELECT count(*) FROM projector_dead_letters WHERE projector = 'sessions' AND record_key = $1`,
		[]byte(created.GetId())); n != 0 {
		t.Fatalf("%d dead-lettered session events", n)
	}
}
