package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/IBM/sarama"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventspb "github.com/oof-gg/platform/api/gen/oof/events/v1"
	opspb "github.com/oof-gg/platform/api/gen/oof/ops/v1"
	authpb "github.com/oof-gg/platform/api/gen/v1/api/auth"
	pb "github.com/oof-gg/platform/api/gen/v1/api/player"
	"github.com/oof-gg/platform/pkg/eventlog"
	"github.com/oof-gg/platform/pkg/personal"
	queryops "github.com/oof-gg/platform/query/ops"
)

// recordsOf are the records of topic (oof.user.v1, oof.player.v1) with key.
func recordsOf(t *testing.T, topic, key string) []*sarama.ConsumerMessage {
	t.Helper()
	var out []*sarama.ConsumerMessage
	for _, m := range readTopic(t, env.Topic(topic)) {
		if string(m.Key) == key {
			out = append(out, m)
		}
	}
	return out
}

func registeredEvent(t *testing.T, userID string) (*sarama.ConsumerMessage, *eventspb.UserRegistered) {
	t.Helper()
	for _, m := range recordsOf(t, "oof.user.v1", userID) {
		if header(m, "ce_type") == "oof.events.v1.UserRegistered" {
			ev := &eventspb.UserRegistered{}
			if err := proto.Unmarshal(m.Value, ev); err != nil {
				t.Fatal(err)
			}
			return m, ev
		}
	}
	t.Fatalf("no UserRegistered of %s on the log", userID)
	return nil, nil
}

// tailOf runs `oof tail` on topic and keeps the lines of key.
func tailOf(t *testing.T, cli oofCLI, topic, key string) []queryops.TailLine {
	t.Helper()
	var out []queryops.TailLine
	for _, l := range tailLines(t, cli, topic) {
		if l.Key == key {
			out = append(out, l)
		}
	}
	if len(out) == 0 {
		t.Fatalf("oof tail %s printed nothing of %s", topic, key)
	}
	return out
}

func userEmail(t *testing.T, ctx context.Context, id string) (email string, erased bool) {
	t.Helper()
	if err := env.Pool.QueryRow(ctx, `SELECT email, erased_at IS NOT NULL FROM users WHERE id = $1`, id).Scan(&email, &erased); err != nil {
		t.Fatalf("users row of %s: %v", id, err)
	}
	return email, erased
}

// The whole erasure: a registered e-mail is sealed on the log (never in
// plaintext) and shown opened in the read models and by `oof tail`; after
// EraseUser the key is destroyed, the raw record can no longer be opened,
// every read model and `oof tail` show the e-mail as erased, sign-in by
// e-mail fails while sign-in by username works, a rebuild of the users and
// players projectors from offset 0 still shows it erased, and a second
// erasure changes nothing.
func TestEraseUser(t *testing.T) {
	cli := platformCLI(t)
	ctx := testCtx(t) // after the CLI is built: a first build can take long
	admin := signedIn(t, ctx, "admin")
	u := signedIn(t, ctx, "developer")
	playerEmail := "p." + u.username + "@example.com"
	createPlayer(t, ctx, u, &pb.Player{Email: proto.String(playerEmail)})
	ai := createPlayer(t, ctx, u, &pb.Player{Type: pb.PlayerType_AI, Username: "bot_" + u.username, Email: proto.String("bot." + u.username + "@example.com")})

	// Before: sealed on the log, shown in the read models and by tail.
	raw, ev := registeredEvent(t, u.id)
	if ev.GetEmail() != "" || len(ev.GetEmailSealed()) == 0 || ev.GetPersonalKeyId() == "" || bytes.Contains(raw.Value, []byte(u.email)) {
		t.Fatalf("UserRegistered must carry the e-mail sealed only: %+v", ev)
	}
	for _, m := range recordsOf(t, "oof.player.v1", u.id) {
		if bytes.Contains(m.Value, []byte(playerEmail)) {
			t.Fatal("a player event carries the e-mail in plaintext")
		}
	}
	if email, erased := userEmail(t, ctx, u.id); email != u.email || erased {
		t.Fatalf("users read model before erasure: %q erased=%v", email, erased)
	}
	if got := getPlayer(t, ctx, admin, u.id).GetEmail(); got != playerEmail {
		t.Fatalf("GetPlayer (admin) before erasure: e-mail %q", got)
	}
	if l := tailOf(t, cli, "oof.user.v1", u.id)[0]; l.Personal[personal.FieldEmail] != personal.StateOpen || !strings.Contains(string(l.Data), u.email) {
		t.Fatalf("oof tail before erasure: %s %v", l.Data, l.Personal)
	}

	// Erase, naming the user by e-mail.
	res, err := opsClient().EraseUser(admin.in(ctx), &opspb.EraseUserRequest{User: u.email})
	if err != nil || !res.GetChanged() || res.GetUserId() != u.id || len(res.GetPersonalKeyIds()) != 1 ||
		res.GetPersonalKeyIds()[0] != ev.GetPersonalKeyId() || len(res.GetPlayerIds()) != 2 {
		t.Fatalf("EraseUser: %+v, %v", res, err)
	}

	// The raw record can no longer be opened: the key is gone.
	keys := personal.NewKeys(env.Pool, nil)
	if v, err := keys.Open(ctx, ev.GetPersonalKeyId(), personal.FieldEmail, ev.GetEmailSealed()); !errors.Is(err, personal.ErrErased) || v != "" {
		t.Fatalf("opening the erased record: %q, %v", v, err)
	}
	if n := countRows(t, ctx, `SELECT count(*) FROM personal_keys WHERE subject_id = $1 AND dek IS NOT NULL`, u.id); n != 0 {
		t.Fatalf("%d live keys left after erasure", n)
	}
	// Write model and read models.
	if n := countRows(t, ctx, `SELECT count(*) FROM auth_accounts WHERE user_id = $1 AND email IS NULL`, u.id); n != 1 {
		t.Fatal("auth_accounts still holds the e-mail")
	}
	checkErased := func(when string) {
		t.Helper()
		waitFor(t, func() bool { email, erased := userEmail(t, ctx, u.id); return email == "" && erased })
		for _, id := range []string{u.id, ai.GetId()} {
			waitFor(t, func() bool { return getPlayer(t, ctx, admin, id).Email == nil })
		}
		for _, q := range []string{`SELECT count(*) FROM users WHERE email = $1`, `SELECT count(*) FROM auth_accounts WHERE email = $1`} {
			if n := countRows(t, ctx, q, u.email); n != 0 {
				t.Fatalf("%s: the e-mail is still in %q", when, q)
			}
		}
	}
	checkErased("after erasure")

	// `oof tail` shows it erased, on both topics, and prints it nowhere.
	for _, topic := range []string{"oof.user.v1", "oof.player.v1"} {
		for _, l := range tailOf(t, cli, topic, u.id) {
			if strings.Contains(string(l.Data), "@example.com") {
				t.Fatalf("oof tail %s after erasure prints an e-mail: %s", topic, l.Data)
			}
			if l.Type == "oof.events.v1.UserRegistered" || l.Type == "oof.events.v1.PlayerCreated" {
				if l.Personal[personal.FieldEmail] != personal.StateErased {
					t.Fatalf("oof tail %s: %s %v, want the e-mail erased", topic, l.Data, l.Personal)
				}
				var fields map[string]any
				if err := json.Unmarshal(l.Data, &fields); err != nil || fields["emailSealed"] != nil {
					t.Fatalf("oof tail %s prints the sealed bytes: %s", topic, l.Data)
				}
			}
		}
	}

	// Sign-in: by e-mail it fails, by username it works.
	_, err = authClient().Login(asNewClient(ctx), &authpb.LoginRequest{Username: u.email, Password: u.password})
	wantCode(t, err, codes.Unauthenticated)
	if _, err := authClient().Login(asNewClient(ctx), &authpb.LoginRequest{Username: u.username, Password: u.password}); err != nil {
		t.Fatalf("login by username after erasure: %v", err)
	}

	// Erasing again changes nothing and records nothing.
	erasures := func() (n int) {
		for _, m := range recordsOf(t, "oof.user.v1", u.id) {
			if header(m, "ce_type") == "oof.events.v1.UserErased" {
				n++
			}
		}
		return n
	}
	if n := erasures(); n != 1 {
		t.Fatalf("%d UserErased on the log, want 1", n)
	}
	again, err := opsClient().EraseUser(admin.in(ctx), &opspb.EraseUserRequest{User: u.id})
	if err != nil || again.GetChanged() {
		t.Fatalf("second EraseUser: %+v, %v", again, err)
	}
	if n := erasures(); n != 1 {
		t.Fatalf("a second erasure recorded UserErased again (%d)", n)
	}

	// Rebuilds from offset 0 replay the sealed events: still erased.
	for _, proj := range []string{"users", "players"} {
		if out, code := cli.run(t, "rebuild", proj); code != 0 {
			t.Fatalf("oof rebuild %s: exit %d\n%s", proj, code, out)
		}
	}
	checkErased("after rebuild")
}

// Bad requests to EraseUser get a clear status and change nothing.
func TestEraseUserRefusals(t *testing.T) {
	ctx := testCtx(t)
	admin := signedIn(t, ctx, "admin")
	victim := signedIn(t, ctx, "player")
	cases := []struct {
		name   string
		caller context.Context
		user   string
		want   codes.Code
	}{
		{"anonymous", asNewClient(ctx), victim.id, codes.Unauthenticated},
		{"player", victim.in(ctx), victim.id, codes.PermissionDenied},
		{"developer", signedIn(t, ctx, "developer").in(ctx), victim.id, codes.PermissionDenied},
		{"service", signedIn(t, ctx, "service").in(ctx), victim.username, codes.PermissionDenied},
		{"empty user", admin.in(ctx), "", codes.InvalidArgument},
		{"unknown username", admin.in(ctx), uniqueName("nobody"), codes.NotFound},
		{"unknown e-mail", admin.in(ctx), uniqueName("nobody") + "@example.com", codes.NotFound},
		{"unknown id", admin.in(ctx), "00000000-0000-4000-8000-000000000000", codes.NotFound},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := opsClient().EraseUser(c.caller, &opspb.EraseUserRequest{User: c.user})
			wantCode(t, err, c.want)
		})
	}
	if email, erased := userEmail(t, ctx, victim.id); email != victim.email || erased {
		t.Fatalf("a refused erasure changed the read model: %q erased=%v", email, erased)
	}
	if n := countRows(t, ctx, `SELECT count(*) FROM personal_keys WHERE subject_id = $1 AND dek IS NOT NULL`, victim.id); n != 1 {
		t.Fatal("a refused erasure destroyed the key")
	}
	if n := countRows(t, ctx, `SELECT count(*) FROM auth_accounts WHERE user_id = $1 AND email = $2`, victim.id, victim.email); n != 1 {
		t.Fatal("a refused erasure changed the account")
	}
}

// An account from before sealing: its UserRegistered carries the e-mail in
// plaintext, and the log is never rewritten. `oof admin erase-user` (the
// CLI path) leaves it a tombstone key, so the users projector clears the
// e-mail, `oof tail` shows the plaintext field as erased, and a rebuild
// from offset 0 does not bring it back. CLI mistakes exit 2, refusals 1.
func TestEraseUserLegacyPlaintextCLI(t *testing.T) {
	cli := platformCLI(t)
	ctx := testCtx(t) // after the CLI is built: a first build can take long
	id, name := uuid.NewString(), uniqueName("legacy")
	email := name + "@example.com"
	if _, err := env.Pool.Exec(ctx, `INSERT INTO auth_accounts (user_id, username, email, role) VALUES ($1, $2, $3, 'player')`,
		id, name, email); err != nil {
		t.Fatal(err)
	}
	payload, err := proto.Marshal(&eventspb.UserRegistered{UserId: id, Username: name, Email: email, Role: "player",
		Method: eventspb.AuthMethod_AUTH_METHOD_PASSWORD, RegisteredAt: timestamppb.Now()})
	if err != nil {
		t.Fatal(err)
	}
	producer, err := sarama.NewSyncProducerFromClient(env.Kafka)
	if err != nil {
		t.Fatal(err)
	}
	defer producer.Close()
	if _, _, err := producer.SendMessage(&sarama.ProducerMessage{Topic: env.Topic("oof.user.v1"),
		Key: sarama.StringEncoder(id), Value: sarama.ByteEncoder(payload), Headers: []sarama.RecordHeader{
			{Key: []byte(eventlog.HeaderSpecVersion), Value: []byte("1.0")},
			{Key: []byte(eventlog.HeaderID), Value: []byte(uuid.NewString())},
			{Key: []byte(eventlog.HeaderType), Value: []byte("oof.events.v1.UserRegistered")},
			{Key: []byte(eventlog.HeaderContentType), Value: []byte(eventlog.ContentTypeProtobuf)},
		}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		var n int
		_ = env.Pool.QueryRow(ctx, `SELECT count(*) FROM users WHERE id = $1 AND email = $2`, id, email).Scan(&n)
		return n == 1
	})
	if l := tailOf(t, cli, "oof.user.v1", id)[0]; l.Personal[personal.FieldEmail] != personal.StateLegacy {
		t.Fatalf("oof tail of a legacy event: %s %v", l.Data, l.Personal)
	}

	for _, c := range []struct {
		args []string
		code int
	}{
		{[]string{"admin", "erase-user"}, 2},
		{[]string{"admin", "erase-user", name, "extra"}, 2},
		{[]string{"admin", "erase-user", uniqueName("nobody")}, 1},
	} {
		if out, code := cli.run(t, c.args...); code != c.code {
			t.Fatalf("oof %v: exit %d, want %d\n%s", c.args, code, c.code, out)
		}
	}
	if e, erased := userEmail(t, ctx, id); e != email || erased {
		t.Fatal("a refused CLI erasure changed the read model")
	}

	out, code := cli.run(t, "admin", "erase-user", name)
	if code != 0 || !strings.Contains(out, "user "+id+" erased: 0 personal-data key(s)") {
		t.Fatalf("oof admin erase-user: exit %d\n%s", code, out)
	}
	// No relay in the CLI: the platform's relay sends UserErased.
	waitFor(t, func() bool { e, erased := userEmail(t, ctx, id); return e == "" && erased })
	for _, l := range tailOf(t, cli, "oof.user.v1", id) {
		if strings.Contains(string(l.Data), email) {
			t.Fatalf("oof tail after erasure prints the legacy e-mail: %s", l.Data)
		}
		if l.Type == "oof.events.v1.UserRegistered" && l.Personal[personal.FieldEmail] != personal.StateErased {
			t.Fatalf("oof tail: legacy e-mail %v, want erased", l.Personal)
		}
	}
	if out, code := cli.run(t, "admin", "erase-user", id); code != 0 || !strings.Contains(out, "already erased") {
		t.Fatalf("second erase-user: exit %d\n%s", code, out)
	}
	if out, code := cli.run(t, "rebuild", "users"); code != 0 {
		t.Fatalf("oof rebuild users: exit %d\n%s", code, out)
	}
	if e, erased := userEmail(t, ctx, id); e != "" || !erased {
		t.Fatalf("after a rebuild the legacy e-mail is back: %q erased=%v", e, erased)
	}
}
