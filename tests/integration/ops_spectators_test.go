package integration

import (
	"context"
	"io"
	"testing"

	"google.golang.org/grpc/codes"

	opspb "github.com/oof-gg/platform/api/gen/oof/ops/v1"
	"github.com/oof-gg/platform/internal/platform"
)

// replayCount streams a replay and counts its events.
func replayCount(callCtx context.Context, id string) (int, error) {
	st, err := opsClient().ReplayMatch(callCtx, &opspb.ReplayMatchRequest{SessionId: id})
	if err != nil {
		return 0, err
	}
	n := 0
	for {
		if _, err := st.Recv(); err != nil {
			if err == io.EOF {
				return n, nil
			}
			return n, err
		}
		n++
	}
}

// ReplayMatch is for a match's spectators too: its players and the game's
// owner (its host here) watch the same replay as an admin; anyone else
// signed in is PERMISSION_DENIED, for an unknown session as well, and an
// unfinished match is NOT_FOUND to its own players.
func TestReplayMatchSpectators(t *testing.T) {
	ctx := testCtx(t)
	ls := newLiveSession(t, ctx, 2)
	c := openLive(t, ctx, env.Conn, ls.members[0], ls.id, openOpts{})
	c.send(t, action("move-1", "1"))
	c.collect(t, 1, named("move-1"))
	finishSession(t, ctx, ls)
	want := len(keyedOffsets(t, ctx, env.Topic(platform.TopicLive), ls.id))
	waitFor(t, func() bool {
		return countRows(t, ctx, `SELECT count(*) FROM match_history m JOIN live_event_ranges r
			ON r.session_id = m.session_id::text WHERE m.session_id = $1 AND r.event_count = $2`, ls.id, want) == 1
	})
	admin := signInAs(t, ctx, "admin")
	all, err := replayCount(admin.ctx(ctx), ls.id)
	if err != nil || all == 0 {
		t.Fatalf("admin's replay: %d events, %v", all, err)
	}
	for name, who := range map[string]actor{"player": ls.members[1], "owner": ls.dev} {
		t.Run(name, func(t *testing.T) {
			n, err := replayCount(who.ctx(ctx), ls.id)
			if err != nil || n != all {
				t.Fatalf("%s's replay: %d events, %v; want the admin's %d", name, n, err, all)
			}
		})
	}
	for _, role := range []string{"player", "developer", "service"} {
		stranger := signInAs(t, ctx, role)
		t.Run("stranger "+role, func(t *testing.T) {
			_, err := replayCount(stranger.ctx(ctx), ls.id)
			wantCode(t, err, codes.PermissionDenied)
			_, err = replayCount(stranger.ctx(ctx), "00000000-0000-4000-8000-000000000000")
			wantCode(t, err, codes.PermissionDenied)
		})
	}
	t.Run("anonymous", func(t *testing.T) {
		_, err := replayCount(asNewClient(ctx), ls.id)
		wantCode(t, err, codes.Unauthenticated)
	})
	t.Run("unfinished", func(t *testing.T) {
		open := newLiveSession(t, ctx, 1)
		sessionPartition(t, ctx, open.id)
		_, err := replayCount(open.members[0].ctx(ctx), open.id)
		wantCode(t, err, codes.NotFound)
	})
	t.Run("bad speed", func(t *testing.T) {
		st, err := opsClient().ReplayMatch(ls.members[0].ctx(ctx), &opspb.ReplayMatchRequest{SessionId: ls.id, Speed: -1})
		if err == nil {
			_, err = st.Recv()
		}
		wantCode(t, err, codes.InvalidArgument)
	})
}
