package integration

import (
	"context"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	commonpb "github.com/oof-gg/platform/api/gen/v1/api/common"
	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	scorepb "github.com/oof-gg/platform/api/gen/v1/api/score"
)

func scoresAPI() commonpb.ScoreServiceClient { return commonpb.NewScoreServiceClient(env.Conn) }

// scoreGame creates a game owned by dev with the given data JSON.
func scoreGame(t *testing.T, ctx context.Context, dev actor, data string) string {
	t.Helper()
	req := &gamepb.GameCreateRequest{}
	if data != "" {
		req.Data = &data
	}
	return newGame(t, ctx, dev, req).GetId()
}

func rankOf(t *testing.T, ctx context.Context, a actor, req *scorepb.PlayerRankRequest) *scorepb.PlayerRankResponse {
	t.Helper()
	resp, err := scoresAPI().GetPlayerRank(a.ctx(ctx), req)
	if err != nil {
		t.Fatalf("rank %v: %v", req, err)
	}
	return resp.GetPlayerRank()
}

// TestScoreSubmitPermissions is the score rows of docs/authorization.md:
// every denial answers PERMISSION_DENIED and stores nothing.
func TestScoreSubmitPermissions(t *testing.T) {
	ctx := testCtx(t)
	owner, other := signInAs(t, ctx, "developer"), signInAs(t, ctx, "developer")
	admin, svc := signInAs(t, ctx, "admin"), signInAs(t, ctx, "service")
	p1, p2 := signInAs(t, ctx, "player"), signInAs(t, ctx, "player")
	closed := scoreGame(t, ctx, owner, "")
	open := scoreGame(t, ctx, owner, `{"scores":{"client_submit":true}}`)
	cases := []struct {
		name   string
		who    actor
		game   string
		player string
		want   codes.Code
	}{
		{"service for a player", svc, closed, p1.id, codes.OK},
		{"owner for a player", owner, closed, p1.id, codes.OK},
		{"admin for a player", admin, closed, p2.id, codes.OK},
		{"other developer", other, closed, p1.id, codes.PermissionDenied},
		{"player for self, client submit off", p1, closed, p1.id, codes.PermissionDenied},
		{"player for self, client submit on", p1, open, p1.id, codes.OK},
		{"player for another, client submit on", p1, open, p2.id, codes.PermissionDenied},
		{"player for another, client submit off", p2, closed, p1.id, codes.PermissionDenied},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := countRows(t, ctx, `SELECT count(*) FROM event_outbox`) + countRows(t, ctx, `SELECT count(*) FROM scores WHERE game_id = $1`, c.game)
			_, err := scoresAPI().SubmitScore(c.who.ctx(ctx), &scorepb.ScoreSubmission{PlayerId: c.player, GameId: c.game, Value: 10})
			wantCode(t, err, c.want)
			if c.want != codes.OK {
				after := countRows(t, ctx, `SELECT count(*) FROM event_outbox`) + countRows(t, ctx, `SELECT count(*) FROM scores WHERE game_id = $1`, c.game)
				if after > before {
					t.Fatalf("a denied submission changed something (%d -> %d)", before, after)
				}
			}
		})
	}
}

func TestScoreSubmitValidation(t *testing.T) {
	ctx := testCtx(t)
	owner := signInAs(t, ctx, "developer")
	game := scoreGame(t, ctx, owner, "")
	bad := scoreGame(t, ctx, owner, `{"scores":{"types":{"time":"fastest"}}}`)
	many := map[string]string{}
	for i := 0; i < 17; i++ {
		many[string(rune('a'+i))] = "x"
	}
	cases := []struct {
		name string
		req  *scorepb.ScoreSubmission
		want codes.Code
	}{
		{"unknown game", &scorepb.ScoreSubmission{PlayerId: owner.id, GameId: "0193a5b2-7c1e-7f3a-9d2b-4e5f6a7b8c9d", Value: 1}, codes.NotFound},
		{"game id not an id", &scorepb.ScoreSubmission{PlayerId: owner.id, GameId: "nope", Value: 1}, codes.InvalidArgument},
		{"player id not an id", &scorepb.ScoreSubmission{PlayerId: "", GameId: game, Value: 1}, codes.InvalidArgument},
		{"value too large", &scorepb.ScoreSubmission{PlayerId: owner.id, GameId: game, Value: 1_000_000_000_001}, codes.InvalidArgument},
		{"value too small", &scorepb.ScoreSubmission{PlayerId: owner.id, GameId: game, Value: -1_000_000_000_001}, codes.InvalidArgument},
		{"score type with colon", &scorepb.ScoreSubmission{PlayerId: owner.id, GameId: game, Value: 1, ScoreType: "a:b"}, codes.InvalidArgument},
		{"score type too long", &scorepb.ScoreSubmission{PlayerId: owner.id, GameId: game, Value: 1, ScoreType: "abcdefghijabcdefghijabcdefghijabc"}, codes.InvalidArgument},
		{"too much metadata", &scorepb.ScoreSubmission{PlayerId: owner.id, GameId: game, Value: 1, Metadata: many}, codes.InvalidArgument},
		{"instance id too long", &scorepb.ScoreSubmission{PlayerId: owner.id, GameId: game, Value: 1, InstanceId: string(make([]byte, 65))}, codes.InvalidArgument},
		{"invalid score settings", &scorepb.ScoreSubmission{PlayerId: owner.id, GameId: bad, Value: 1, ScoreType: "time"}, codes.FailedPrecondition},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := scoresAPI().SubmitScore(owner.ctx(ctx), c.req)
			wantCode(t, err, c.want)
		})
	}
	if n := countRows(t, ctx, `SELECT count(*) FROM event_outbox`) + countRows(t, ctx, `SELECT count(*) FROM scores WHERE game_id = ANY($1::uuid[])`, []string{game, bad}); n != 0 {
		t.Fatalf("refused submissions stored %d rows", n)
	}
}

// TestScoreIdempotentAndReadYourWrites: the same idempotency key counts
// once (the retry gets the first answer), and a rank read right after the
// answer shows the score.
func TestScoreIdempotentAndReadYourWrites(t *testing.T) {
	ctx := testCtx(t)
	owner := signInAs(t, ctx, "developer")
	p := signInAs(t, ctx, "player")
	game := scoreGame(t, ctx, owner, `{"scores":{"types":{"laps":"sum"}}}`)
	kctx := metadata.AppendToOutgoingContext(owner.ctx(ctx), "idempotency-key", "score-"+p.id)
	req := &scorepb.ScoreSubmission{PlayerId: p.id, GameId: game, Value: 7, ScoreType: "laps", Metadata: map[string]string{"map": "dune"}}
	var md1, md2 metadata.MD
	first, err := scoresAPI().SubmitScore(kctx, req, grpc.Header(&md1))
	if err != nil {
		t.Fatal(err)
	}
	if got := md1.Get("x-oof-consistency"); len(got) != 1 || got[0] != "fresh" {
		t.Fatalf("consistency %v, want fresh", got)
	}
	if r := rankOf(t, ctx, p, &scorepb.PlayerRankRequest{PlayerId: p.id, GameId: game, ScoreType: "laps"}); r.GetScoreValue() != 7 || r.GetRank() != 1 {
		t.Fatalf("right after submit: %v", r)
	}
	again, err := scoresAPI().SubmitScore(kctx, req, grpc.Header(&md2))
	if err != nil {
		t.Fatal(err)
	}
	if got := md2.Get("x-oof-idempotent-replay"); len(got) != 1 || got[0] != "true" {
		t.Fatalf("replay header %v", got)
	}
	if again.GetLeaderboardEntry().GetScore().GetId() != first.GetLeaderboardEntry().GetScore().GetId() {
		t.Fatal("the retry answered another score")
	}
	if n := countRows(t, ctx, `SELECT count(*) FROM scores WHERE player_id = $1`, p.id); n != 1 {
		t.Fatalf("%d scores stored, want 1", n)
	}
	if r := rankOf(t, ctx, p, &scorepb.PlayerRankRequest{PlayerId: p.id, GameId: game, ScoreType: "laps"}); r.GetScoreValue() != 7 {
		t.Fatalf("a sum board counted the retry: %v", r)
	}
	// The same key with another request is refused.
	_, err = scoresAPI().SubmitScore(kctx, &scorepb.ScoreSubmission{PlayerId: p.id, GameId: game, Value: 8, ScoreType: "laps"})
	wantCode(t, err, codes.InvalidArgument)
}
