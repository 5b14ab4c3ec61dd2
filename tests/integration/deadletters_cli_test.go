package integration

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventspb "github.com/oof-gg/platform/api/gen/oof/events/v1"
	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	"github.com/oof-gg/platform/tests/harness"
)

// oofCLI is the oof binary run against one database.
type oofCLI struct {
	bin string
	env []string
}

func (c oofCLI) run(t *testing.T, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(c.bin, args...)
	cmd.Env = append(os.Environ(), c.env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return out.String(), exit.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return out.String(), 0
}

func buildOOF(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "oof")
	build := exec.Command("go", "build", "-o", bin, "github.com/oof-gg/platform/cmd/oof")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// insertDeadLetter stands for a record that died before its fix shipped.
func insertDeadLetter(t *testing.T, ctx context.Context, pool *pgxpool.Pool, projector string, offset int64, eventType string, payload []byte) int64 {
	t.Helper()
	var id int64
	err := pool.QueryRow(ctx, `INSERT INTO projector_dead_letters (projector, topic, partition, "offset",
		event_type, event_id, record_key, payload, headers, error, attempts)
		VALUES ($1, 'oof.session.v1', 0, $2, $3, $4, 'k', $5,
		  jsonb_build_array(jsonb_build_object('key', 'ce_type', 'value', encode(convert_to($3, 'UTF8'), 'base64'))),
		  'sessions projector: old bug', 3)
		RETURNING id`, projector, offset, eventType, uuid.NewString(), payload).Scan(&id)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// `oof deadletters list|retry` against a database with two dead letters:
// one that applies now, one that still cannot be decoded.
func TestDeadLettersCLI(t *testing.T) {
	ctx := testCtx(t)
	pool := newProjectionDB(t, ctx, "cli"+harness.RandomID(2))
	cli := oofCLI{bin: buildOOF(t), env: []string{
		"OOF_POSTGRES_URL=" + pool.Config().ConnString(), "OOF_REDIS_ADDR=" + env.Cfg.RedisAddr,
		"OOF_REDIS_KEY_PREFIX=" + env.Cfg.RedisKeyPrefix + "cli:", "OOF_KAFKA_TOPIC_PREFIX=" + env.Cfg.KafkaTopicPrefix,
		"OOF_LOG_LEVEL=error",
	}}

	sessionID := uuid.NewString()
	created, err := proto.Marshal(&eventspb.SessionCreated{
		Session: &gamepb.Session{Id: sessionID, GameId: uuid.NewString(), State: gamepb.GameState_STATE_WAITING},
		HostId:  "host", Version: 1, CreatedAt: timestamppb.Now(),
	})
	if err != nil {
		t.Fatal(err)
	}
	fixable := insertDeadLetter(t, ctx, pool, "sessions", 7, "oof.events.v1.SessionCreated", created)
	broken := insertDeadLetter(t, ctx, pool, "sessions", 9, "oof.events.v1.NoSuchEvent", []byte("x"))

	steps := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  []string
	}{
		{"list open", []string{"deadletters", "list"}, 0,
			[]string{"ID", "STATUS", "EVENT TYPE", "oof.events.v1.SessionCreated", "oof.events.v1.NoSuchEvent", "old bug"}},
		{"retry one", []string{"deadletters", "retry", itoa(fixable)}, 0, []string{"re-driven: the record is applied"}},
		{"retry it again", []string{"deadletters", "retry", itoa(fixable)}, 0, []string{"already re-driven; nothing to do"}},
		{"retry all", []string{"deadletters", "retry", "--all"}, 1,
			[]string{"dead letter " + itoa(broken) + ": still failing", "still failing or not tried: 1"}},
		{"retry unknown", []string{"deadletters", "retry", "999999"}, 1, []string{"no such dead letter"}},
		{"list all", []string{"deadletters", "list", "-all"}, 0, []string{"redriven", "unknown event type"}},
		{"bad usage", []string{"deadletters", "retry"}, 2, []string{"usage:"}},
		{"unknown subcommand", []string{"deadletters", "purge"}, 2, []string{"unknown subcommand"}},
		{"flags still work", []string{"-healthcheck=http://127.0.0.1:1/"}, 1, nil},
	}
	for _, s := range steps {
		out, code := cli.run(t, s.args...)
		if code != s.wantCode {
			t.Errorf("%s: exit %d, want %d\n%s", s.name, code, s.wantCode, out)
		}
		for _, w := range s.wantOut {
			if !strings.Contains(out, w) {
				t.Errorf("%s: output lacks %q:\n%s", s.name, w, out)
			}
		}
	}
	var applied, attempts int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM sessions WHERE id = $1 AND first_offset = 7`, sessionID).Scan(&applied); err != nil {
		t.Fatal(err)
	}
	if applied != 1 {
		t.Errorf("the re-driven SessionCreated is in the read model %d times", applied)
	}
	if err := pool.QueryRow(ctx, `SELECT attempts FROM projector_dead_letters WHERE id = $1 AND status = 'dead'`, broken).Scan(&attempts); err != nil || attempts != 4 {
		t.Errorf("the still-broken dead letter: attempts %d, %v; want 4 and still dead", attempts, err)
	}
	out, _ := cli.run(t, "deadletters", "list")
	if strings.Contains(out, "SessionCreated") || !strings.Contains(out, "NoSuchEvent") {
		t.Errorf("list shows only open dead letters:\n%s", out)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
