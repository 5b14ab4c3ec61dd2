package integration

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	authpb "github.com/oof-gg/platform/api/gen/v1/api/auth"
	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	pb "github.com/oof-gg/platform/api/gen/v1/api/player"
	queryops "github.com/oof-gg/platform/query/ops"
)

// platformCLI is the oof binary pointed at the shared test platform.
func platformCLI(t *testing.T) oofCLI {
	t.Helper()
	return oofCLI{bin: buildOOF(t), env: []string{
		"OOF_POSTGRES_URL=" + env.Cfg.PostgresURL, "OOF_REDIS_ADDR=" + env.Cfg.RedisAddr,
		"OOF_REDIS_KEY_PREFIX=" + env.Cfg.RedisKeyPrefix, "OOF_KAFKA_BROKERS=" + strings.Join(env.Cfg.KafkaBrokers, ","),
		"OOF_KAFKA_TOPIC_PREFIX=" + env.Cfg.KafkaTopicPrefix, "OOF_LOG_LEVEL=error",
	}}
}

// runIn runs the CLI with stdin.
func (c oofCLI) runIn(t *testing.T, stdin string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(c.bin, args...)
	cmd.Env = append(os.Environ(), c.env...)
	cmd.Stdin = strings.NewReader(stdin)
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

// tailLines runs `oof tail` and decodes its JSON lines.
func tailLines(t *testing.T, cli oofCLI, args ...string) []queryops.TailLine {
	t.Helper()
	out, code := cli.run(t, append([]string{"tail"}, args...)...)
	if code != 0 {
		t.Fatalf("oof tail %v: exit %d\n%s", args, code, out)
	}
	var lines []queryops.TailLine
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var l queryops.TailLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("not a JSON line: %q: %v", sc.Text(), err)
		}
		lines = append(lines, l)
	}
	return lines
}

// The first-admin path of the README: create-user, then grant-role, both
// through the command path (events on oof.user.v1), no SQL; the role is in
// the tokens from the next refresh. Usage mistakes exit 2, refusals 1.
func TestOpsCLIAccounts(t *testing.T) {
	cli := platformCLI(t)
	ctx := testCtx(t) // after the CLI is built: a first build can take long
	name := uniqueName("cliadm")
	out, code := cli.runIn(t, "correct horse battery\n", "admin", "create-user", name, "--email="+name+"@example.com", "--password-stdin")
	if code != 0 || !strings.Contains(out, "created user "+name) || strings.Contains(out, "password:") {
		t.Fatalf("create-user: exit %d\n%s", code, out)
	}
	login, err := authClient().Login(asNewClient(ctx), &authpb.LoginRequest{Username: name, Password: "correct horse battery"})
	if err != nil {
		t.Fatal(err)
	}
	if out, code = cli.run(t, "admin", "grant-role", name, "admin"); code != 0 || !strings.Contains(out, "role admin (was player)") {
		t.Fatalf("grant-role: exit %d\n%s", code, out)
	}
	assertRoleAfterRefresh(t, ctx, login, "player", "admin")

	for _, c := range []struct {
		args []string
		want int
	}{
		{[]string{"admin", "grant-role", name}, 2},
		{[]string{"admin", "nope"}, 2},
		{[]string{"admin", "grant-role", name, "root"}, 1},
		{[]string{"admin", "grant-role", uniqueName("nobody"), "admin"}, 1},
		{[]string{"admin", "create-user", name}, 1}, // taken
		{[]string{"tail"}, 2},
		{[]string{"status", "extra"}, 2},
	} {
		if out, code := cli.run(t, c.args...); code != c.want {
			t.Errorf("oof %v: exit %d, want %d\n%s", c.args, code, c.want, out)
		}
	}

	// The CLI's events reach the log through the running platform's relay.
	var id string
	_ = env.Pool.QueryRow(ctx, `SELECT user_id::text FROM auth_accounts WHERE username = $1`, name).Scan(&id)
	waitFor(t, func() bool {
		seen := map[string]bool{}
		for _, l := range tailLines(t, cli, "oof.user.v1", "--type=UserRegistered,UserRoleChanged") {
			if l.Key == id && l.Error == "" && l.Headers["ce_source"] != "" {
				seen[l.Type] = true
			}
		}
		return seen["oof.events.v1.UserRegistered"] && seen["oof.events.v1.UserRoleChanged"]
	})
}

// `oof status -json` answers what GetStatus answers, for every projector.
func TestOpsCLIStatus(t *testing.T) {
	cli := platformCLI(t)
	out, code := cli.run(t, "status", "-json")
	if code != 0 {
		t.Fatalf("status: exit %d\n%s", code, out)
	}
	var st struct {
		Lag []struct {
			Projector string `json:"projector"`
			Lag       string `json:"lag"`
		} `json:"lag"`
		KafkaError string `json:"kafkaError"`
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil || st.KafkaError != "" || len(st.Lag) == 0 {
		t.Fatalf("status -json: %v\n%s", err, out)
	}
	if out, code = cli.run(t, "status", "-all"); code != 0 || !strings.Contains(out, "PROJECTOR") || !strings.Contains(out, "outbox backlog:") {
		t.Fatalf("status: exit %d\n%s", code, out)
	}
}

// Events produced through the platform come out of `oof tail` decoded,
// with their CloudEvents headers, on every topic; none fails to decode.
func TestOpsCLITailDecodesPlatformEvents(t *testing.T) {
	cli := platformCLI(t)
	ctx := testCtx(t) // after the CLI is built: a first build can take long
	dev := signInAs(t, ctx, "developer")
	g := newGame(t, ctx, dev, &gamepb.GameCreateRequest{})
	s, _ := newSession(t, ctx, dev, g.GetId())
	createPlayer(t, ctx, member{account: dev.account, id: dev.id, token: dev.token}, &pb.Player{})
	want := map[string]string{ // type -> key that must carry it
		"oof.events.v1.UserRegistered": dev.id, "oof.events.v1.UserLoggedIn": dev.id,
		"oof.events.v1.GameCreated": g.GetId(), "oof.events.v1.SessionCreated": s.GetId(),
		"oof.events.v1.PlayerCreated": dev.id,
	}
	waitFor(t, func() bool {
		seen := map[string]bool{}
		for _, topic := range []string{"oof.user.v1", "oof.game.v1", "oof.session.v1", "oof.entity.v1", "oof.player.v1", "oof.score.v1", "oof.live.v1"} {
			for _, l := range tailLines(t, cli, topic) {
				if l.Error != "" || l.Data == nil || l.Headers["ce_type"] != l.Type || l.Headers["ce_id"] == "" {
					t.Fatalf("undecoded record on %s: %+v", topic, l)
				}
				if want[l.Type] == l.Key {
					seen[l.Type] = true
				}
			}
		}
		return len(seen) == len(want)
	})
	// -from a time after everything: nothing; -from an offset past the end: nothing.
	if lines := tailLines(t, cli, "oof.game.v1", "--from=2999-01-01T00:00:00Z"); len(lines) != 0 {
		t.Fatalf("records after year 2999: %v", lines)
	}
}
