package browser

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventspb "github.com/oof-gg/platform/api/gen/oof/events/v1"
	opspb "github.com/oof-gg/platform/api/gen/oof/ops/v1"
	authpb "github.com/oof-gg/platform/api/gen/v1/api/auth"
	commonpb "github.com/oof-gg/platform/api/gen/v1/api/common"
	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	"github.com/oof-gg/platform/internal/platform"
	"github.com/oof-gg/platform/tests/harness"
)

// Setting up what the console shows, through the platform's own API: the
// accounts, a finished match with live events, and a dead letter.

const consolePassword = "correct horse battery"

type signedIn struct{ name, id, token string }

// withBearer and a distinct x-forwarded-for per account keep the test's
// sign-ups under the per-address limits (the harness trusts that header).
func (s signedIn) ctx(ctx context.Context) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+s.token)
}

var addrCounter int

func signUp(t *testing.T, ctx context.Context, env *harness.Env, role string) signedIn {
	t.Helper()
	addrCounter++
	ctx = metadata.AppendToOutgoingContext(ctx, "x-forwarded-for", fmt.Sprintf("10.9.0.%d", addrCounter))
	auth := authpb.NewAuthServiceClient(env.Conn)
	name := "console_" + role + "_" + harness.RandomID(3)
	r, err := auth.Register(ctx, &authpb.RegisterRequest{Username: name, Email: name + "@example.com", Password: consolePassword})
	if err != nil {
		t.Fatal(err)
	}
	if role != "player" {
		if _, err := env.Pool.Exec(ctx, `UPDATE auth_accounts SET role = $2 WHERE user_id = $1`, r.GetUserId(), role); err != nil {
			t.Fatal(err)
		}
	}
	login, err := auth.Login(ctx, &authpb.LoginRequest{Username: name, Password: consolePassword})
	if err != nil {
		t.Fatal(err)
	}
	return signedIn{name: name, id: r.GetUserId(), token: login.GetAccessToken()}
}

// liveStream is one player's open StreamEvents, subscribed to the session.
type liveStream struct {
	st grpc.BidiStreamingClient[gamepb.GameEvent, gamepb.GameEvent]
	in chan *gamepb.GameEvent
}

func joinLive(t *testing.T, ctx context.Context, env *harness.Env, p signedIn, session string) *liveStream {
	t.Helper()
	st, err := commonpb.NewGameServiceClient(env.Conn).StreamEvents(p.ctx(ctx))
	if err != nil {
		t.Fatal(err)
	}
	ls := &liveStream{st: st, in: make(chan *gamepb.GameEvent, 256)}
	go func() {
		for {
			ev, err := st.Recv()
			if err != nil {
				close(ls.in)
				return
			}
			ls.in <- ev
		}
	}()
	ls.send(t, &gamepb.GameEvent{SessionId: proto.String(session), EventName: proto.String("ready"), Type: gamepb.GameEvent_TYPE_ACTION})
	ls.await(t, "ready", p.id)
	return ls
}

func (ls *liveStream) send(t *testing.T, ev *gamepb.GameEvent) {
	t.Helper()
	if err := ls.st.Send(ev); err != nil {
		t.Fatal(err)
	}
}

// await reads until the event named name from player comes back (it is on
// the log then: the stream target acks after Kafka).
func (ls *liveStream) await(t *testing.T, name, player string) {
	t.Helper()
	timeout := time.After(15 * time.Second)
	for {
		select {
		case ev, ok := <-ls.in:
			if !ok {
				t.Fatalf("stream ended before %s", name)
			}
			if ev.GetEventName() == name && ev.GetPlayerId() == player {
				return
			}
		case <-timeout:
			t.Fatalf("no %s from %s within 15s", name, player)
		}
	}
}

type finishedMatch struct {
	gameID, sessionID string
	// events is what ReplayMatch streams for it, in order.
	events []*opspb.ReplayedEvent
}

// playMatch creates a game and a two-player session, plays a few live
// events with gaps, finishes the session and waits until match history
// has it with all its live events.
func playMatch(t *testing.T, ctx context.Context, env *harness.Env, admin signedIn) finishedMatch {
	t.Helper()
	dev := signUp(t, ctx, env, "developer")
	a, b := signUp(t, ctx, env, "player"), signUp(t, ctx, env, "player")
	games := commonpb.NewGameServiceClient(env.Conn)
	g, err := games.CreateGame(dev.ctx(ctx), &gamepb.GameCreateRequest{Name: "Console " + harness.RandomID(3)})
	if err != nil {
		t.Fatal(err)
	}
	s, err := games.CreateSession(dev.ctx(ctx), &gamepb.SessionCreate{GameId: g.GetSingleGame().GetId(), UserIds: []string{a.id, b.id}})
	if err != nil {
		t.Fatal(err)
	}
	m := finishedMatch{gameID: g.GetSingleGame().GetId(), sessionID: s.GetSession().GetId()}
	setState := func(st gamepb.GameState) {
		if _, err := games.UpdateSession(dev.ctx(ctx), &gamepb.SessionUpdate{Id: m.sessionID, State: st}); err != nil {
			t.Fatalf("session -> %v: %v", st, err)
		}
	}
	setState(gamepb.GameState_STATE_STARTED)
	la, lb := joinLive(t, ctx, env, a, m.sessionID), joinLive(t, ctx, env, b, m.sessionID)
	for i, p := range []struct {
		ls *liveStream
		id string
	}{{la, a.id}, {lb, b.id}, {la, a.id}, {lb, b.id}} {
		name := fmt.Sprintf("move-%d", i+1)
		p.ls.send(t, &gamepb.GameEvent{EventName: proto.String(name), Type: gamepb.GameEvent_TYPE_ACTION, Attributes: map[string]*gamepb.GameEvent_EventAttribute{
			"x": {Value: &gamepb.GameEvent_EventAttribute_IntValue{IntValue: int32(i)}}}})
		p.ls.await(t, name, p.id)
		time.Sleep(150 * time.Millisecond) // gaps the replay reproduces
	}
	setState(gamepb.GameState_STATE_FINISHED)

	liveTopic := env.Topic(platform.TopicLive)
	recs, err := harness.ReadTopic(ctx, env.Kafka, liveTopic)
	if err != nil {
		t.Fatal(err)
	}
	var live int64
	for _, r := range recs {
		if string(r.Key) == m.sessionID {
			live++
		}
	}
	opsc := opspb.NewOpsServiceClient(env.Conn)
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, err := opsc.GetMatch(admin.ctx(ctx), &opspb.GetMatchRequest{SessionId: m.sessionID})
		if err == nil && got.GetMatch().GetLiveEvents().GetCount() == live {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("match %s not in history with its %d live events: %v, %v", m.sessionID, live, got, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	st, err := opsc.ReplayMatch(admin.ctx(ctx), &opspb.ReplayMatchRequest{SessionId: m.sessionID})
	if err != nil {
		t.Fatal(err)
	}
	for {
		r, err := st.Recv()
		if err != nil {
			break // io.EOF, or a failure the count check below reports
		}
		m.events = append(m.events, r.GetEvent())
	}
	if int64(len(m.events)) < live+3 { // created, started, finished and every live event
		t.Fatalf("reference replay has %d events for %d live ones", len(m.events), live)
	}
	return m
}

// deadLetter stands for a sessions record that died before its fix
// shipped; re-driving it applies it. It returns its id.
func deadLetter(t *testing.T, ctx context.Context, env *harness.Env) int64 {
	t.Helper()
	payload, err := proto.Marshal(&eventspb.SessionCreated{
		Session: &gamepb.Session{Id: uuid.NewString(), GameId: uuid.NewString(), State: gamepb.GameState_STATE_WAITING},
		HostId:  "host", Version: 1, CreatedAt: timestamppb.Now(),
	})
	if err != nil {
		t.Fatal(err)
	}
	var id int64
	err = env.Pool.QueryRow(ctx, `INSERT INTO projector_dead_letters (projector, topic, partition, "offset",
		event_type, event_id, record_key, payload, headers, error, attempts)
		VALUES ('sessions', $1, 0, 7, 'oof.events.v1.SessionCreated', $2, 'k', $3,
		  jsonb_build_array(jsonb_build_object('key', 'ce_type', 'value', encode(convert_to('oof.events.v1.SessionCreated', 'UTF8'), 'base64'))),
		  'sessions projector: old bug', 3)
		RETURNING id`, env.Topic(platform.TopicSession), uuid.NewString(), payload).Scan(&id)
	if err != nil {
		t.Fatal(err)
	}
	return id
}
