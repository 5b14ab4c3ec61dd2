package integration

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventspb "github.com/oof-gg/platform/api/gen/oof/events/v1"
	opspb "github.com/oof-gg/platform/api/gen/oof/ops/v1"
	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	"github.com/oof-gg/platform/internal/platform"
)

// opsDeadLetter stands, in the shared platform's database, for a record of
// the sessions topic that died before its fix shipped. It is removed after
// the test so later tests see only their own dead letters.
func opsDeadLetter(t *testing.T, ctx context.Context, offset int64, eventType string, payload []byte) int64 {
	t.Helper()
	var id int64
	err := env.Pool.QueryRow(ctx, `INSERT INTO projector_dead_letters (projector, topic, partition, "offset",
		event_type, event_id, record_key, payload, headers, error, attempts)
		VALUES ('sessions', $1, 0, $2, $3, $4, 'k', $5,
		  jsonb_build_array(jsonb_build_object('key', 'ce_type', 'value', encode(convert_to($3, 'UTF8'), 'base64'))),
		  'sessions projector: old bug', 3)
		RETURNING id`, env.Topic(platform.TopicSession), offset, eventType, uuid.NewString(), payload).Scan(&id)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = env.Pool.Exec(context.Background(), `DELETE FROM projector_dead_letters WHERE id = $1`, id)
	})
	return id
}

func deadLetterIDs(list []*opspb.DeadLetter) []int64 {
	var ids []int64
	for _, d := range list {
		ids = append(ids, d.GetId())
	}
	return ids
}

func outcomeOf(resp *opspb.RetryDeadLettersResponse, id int64) *opspb.RedriveOutcome {
	for _, o := range resp.GetOutcomes() {
		if o.GetId() == id {
			return o
		}
	}
	return nil
}

// ListDeadLetters and RetryDeadLetters: admins only, bad input answers
// INVALID_ARGUMENT / NOT_FOUND and changes nothing; a re-drive applies a
// fixable record once and leaves a broken one dead with one more attempt,
// as `oof deadletters retry` does.
func TestOpsDeadLetters(t *testing.T) {
	ctx := testCtx(t)
	admin := signedIn(t, ctx, "admin")
	sessionID := uuid.NewString()
	// The re-drive below applies a record that was never on the topic: its
	// row must not outlive the test, or the shared read models would hold
	// a session no replay of the log builds (TestReadModelsEqualFreshReplay,
	// TestRebuildOnline compare exactly that).
	t.Cleanup(func() {
		_, _ = env.Pool.Exec(context.Background(), `DELETE FROM sessions WHERE id = $1::uuid`, sessionID)
	})
	created, err := proto.Marshal(&eventspb.SessionCreated{
		Session: &gamepb.Session{Id: sessionID, GameId: uuid.NewString(), State: gamepb.GameState_STATE_WAITING},
		HostId:  "host", Version: 1, CreatedAt: timestamppb.Now(),
	})
	if err != nil {
		t.Fatal(err)
	}
	fixable := opsDeadLetter(t, ctx, 7, "oof.events.v1.SessionCreated", created)
	broken := opsDeadLetter(t, ctx, 9, "oof.events.v1.NoSuchEvent", []byte("x"))
	attemptsOf := func(id int64) int {
		return countRows(t, ctx, `SELECT attempts FROM projector_dead_letters WHERE id = $1`, id)
	}

	t.Run("refused", func(t *testing.T) {
		bad := []struct {
			name string
			call func(context.Context) error
			code codes.Code
		}{
			{"list: negative limit", listDL(&opspb.ListDeadLettersRequest{Limit: -1}), codes.InvalidArgument},
			{"list: limit over 1000", listDL(&opspb.ListDeadLettersRequest{Limit: 1001}), codes.InvalidArgument},
			{"list: unknown projector", listDL(&opspb.ListDeadLettersRequest{Projector: "nope"}), codes.InvalidArgument},
			{"retry: nothing named", retryDL(&opspb.RetryDeadLettersRequest{}), codes.InvalidArgument},
			{"retry: negative id", retryDL(&opspb.RetryDeadLettersRequest{Id: -1}), codes.InvalidArgument},
			{"retry: id and all", retryDL(&opspb.RetryDeadLettersRequest{Id: broken, All: true}), codes.InvalidArgument},
			{"retry: projector without all", retryDL(&opspb.RetryDeadLettersRequest{Id: broken, Projector: "sessions"}), codes.InvalidArgument},
			{"retry: all of an unknown projector", retryDL(&opspb.RetryDeadLettersRequest{All: true, Projector: "nope"}), codes.InvalidArgument},
			{"retry: unknown id", retryDL(&opspb.RetryDeadLettersRequest{Id: 1 << 40}), codes.NotFound},
		}
		for _, b := range bad {
			t.Run(b.name, func(t *testing.T) { wantCode(t, b.call(admin.in(ctx)), b.code) })
		}
		for _, role := range []string{"player", "developer"} {
			caller := signedIn(t, ctx, role)
			wantCode(t, listDL(&opspb.ListDeadLettersRequest{})(caller.in(ctx)), codes.PermissionDenied)
			wantCode(t, retryDL(&opspb.RetryDeadLettersRequest{Id: broken})(caller.in(ctx)), codes.PermissionDenied)
		}
		wantCode(t, retryDL(&opspb.RetryDeadLettersRequest{All: true})(asNewClient(ctx)), codes.Unauthenticated)
		if n := attemptsOf(broken); n != 3 {
			t.Fatalf("a refused call re-drove the dead letter: attempts %d, want 3", n)
		}
	})

	list, err := opsClient().ListDeadLetters(admin.in(ctx), &opspb.ListDeadLettersRequest{Projector: "sessions", Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	ids := deadLetterIDs(list.GetDeadLetters())
	i, j := slices.Index(ids, fixable), slices.Index(ids, broken)
	if i < 0 || j < i {
		t.Fatalf("open dead letters %v: want %d then %d (oldest first)", ids, fixable, broken)
	}
	d := list.GetDeadLetters()[i]
	if d.GetEventType() != "oof.events.v1.SessionCreated" || d.GetStatus() != "dead" || d.GetAttempts() != 3 ||
		d.GetOffset() != 7 || d.GetTopic() != env.Topic(platform.TopicSession) || string(d.GetKey()) != "k" ||
		!strings.Contains(d.GetError(), "old bug") || d.GetRedrivenAt() != nil {
		t.Fatalf("dead letter on the wire: %+v", d)
	}
	page, err := opsClient().ListDeadLetters(admin.in(ctx), &opspb.ListDeadLettersRequest{Projector: "sessions", Limit: 1})
	if err != nil || len(page.GetDeadLetters()) != 1 || !page.GetTruncated() {
		t.Fatalf("limit 1 of at least 2: %d rows, truncated %v, %v", len(page.GetDeadLetters()), page.GetTruncated(), err)
	}

	one, err := opsClient().RetryDeadLetters(admin.in(ctx), &opspb.RetryDeadLettersRequest{Id: fixable})
	if err != nil || one.GetRedriven() != 1 || outcomeOf(one, fixable).GetOutcome() != "redriven" {
		t.Fatalf("retry one: %+v, %v", one, err)
	}
	waitFor(t, func() bool { return countRows(t, ctx, `SELECT count(*) FROM sessions WHERE id = $1`, sessionID) == 1 })
	again, err := opsClient().RetryDeadLetters(admin.in(ctx), &opspb.RetryDeadLettersRequest{Id: fixable})
	if err != nil || again.GetAlreadyRedriven() != 1 || outcomeOf(again, fixable).GetOutcome() != "already redriven" {
		t.Fatalf("retry it again: %+v, %v", again, err)
	}

	all, err := opsClient().RetryDeadLetters(admin.in(ctx), &opspb.RetryDeadLettersRequest{All: true, Projector: "sessions"})
	if err != nil {
		t.Fatal(err)
	}
	o := outcomeOf(all, broken)
	if o.GetOutcome() != "still failing" || !strings.Contains(o.GetError(), "unknown event type") || all.GetFailed() < 1 ||
		outcomeOf(all, fixable) != nil {
		t.Fatalf("retry all: %+v", all)
	}
	if got := int(all.GetRedriven() + all.GetAlreadyRedriven() + all.GetFailed()); got != len(all.GetOutcomes()) {
		t.Fatalf("retry all: counts add up to %d for %d outcomes", got, len(all.GetOutcomes()))
	}
	if n := attemptsOf(broken); n != 4 {
		t.Fatalf("still-failing dead letter: attempts %d, want 4", n)
	}

	open, err := opsClient().ListDeadLetters(admin.in(ctx), &opspb.ListDeadLettersRequest{Projector: "sessions"})
	if err != nil || slices.Contains(deadLetterIDs(open.GetDeadLetters()), fixable) || !slices.Contains(deadLetterIDs(open.GetDeadLetters()), broken) {
		t.Fatalf("open after re-drive: %v, %v", deadLetterIDs(open.GetDeadLetters()), err)
	}
	every, err := opsClient().ListDeadLetters(admin.in(ctx), &opspb.ListDeadLettersRequest{Projector: "sessions", IncludeRedriven: true, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	k := slices.Index(deadLetterIDs(every.GetDeadLetters()), fixable)
	if k < 0 || every.GetDeadLetters()[k].GetStatus() != "redriven" || every.GetDeadLetters()[k].GetRedrivenAt() == nil {
		t.Fatalf("with re-driven ones: %v", deadLetterIDs(every.GetDeadLetters()))
	}
}

func listDL(req *opspb.ListDeadLettersRequest) func(context.Context) error {
	return func(c context.Context) error { _, err := opsClient().ListDeadLetters(c, req); return err }
}

func retryDL(req *opspb.RetryDeadLettersRequest) func(context.Context) error {
	return func(c context.Context) error { _, err := opsClient().RetryDeadLetters(c, req); return err }
}
