package crash

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	authpb "github.com/oof-gg/platform/api/gen/v1/api/auth"
	commonpb "github.com/oof-gg/platform/api/gen/v1/api/common"
	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	"github.com/oof-gg/platform/command/kit"
	"github.com/oof-gg/platform/tests/harness"
)

// developer is the signed-in user the load runs as.
type developer struct{ id, token string }

// signInDeveloper registers a user over conn, makes it a developer (there is
// no public API for roles; operators set them in the auth write model) and
// signs in again so the token carries the role.
func signInDeveloper(t *testing.T, ctx context.Context, conn *grpc.ClientConn, pool *pgxpool.Pool) developer {
	t.Helper()
	auth := authpb.NewAuthServiceClient(conn)
	name := "crash_" + harness.RandomID(4)
	password := "correct horse battery"
	reg, err := auth.Register(ctx, &authpb.RegisterRequest{Username: name, Email: name + "@example.com", Password: password})
	if err != nil {
		t.Fatalf("register: %v", err)
	}
	if _, err := pool.Exec(ctx, `UPDATE auth_accounts SET role = 'developer' WHERE user_id = $1`, reg.GetUserId()); err != nil {
		t.Fatal(err)
	}
	login, err := auth.Login(ctx, &authpb.LoginRequest{Username: name, Password: password})
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	return developer{id: reg.GetUserId(), token: login.GetAccessToken()}
}

// ack is a command the platform acknowledged (OK).
type ack struct {
	subject     string // the aggregate as the log names it (ce_subject): "game/<id>"
	version     int64  // the aggregate's version after the command
	consistency string // x-oof-consistency of the answer
	started     time.Time
	took        time.Duration
}

// loadOptions shape the load.
type loadOptions struct {
	workers     int
	pause       time.Duration // between a worker's commands (0: as fast as it goes)
	maxCommands int64         // a bound, in case the process never dies
}

// load drives commands through real gRPC and records each outcome: an OK is
// an acknowledgement the platform must honour; any error is an unknown
// outcome (the command may or may not have committed).
type load struct {
	client commonpb.GameServiceClient
	dev    developer
	opts   loadOptions
	stop   chan struct{}
	wg     sync.WaitGroup
	done   chan struct{} // closed when every worker has returned

	sent   atomic.Int64
	acked  atomic.Int64
	mu     sync.Mutex
	acks   []ack
	failed map[codes.Code]int
}

func startLoad(ctx context.Context, conn *grpc.ClientConn, dev developer, opts loadOptions) *load {
	l := &load{client: commonpb.NewGameServiceClient(conn), dev: dev, opts: opts,
		stop: make(chan struct{}), done: make(chan struct{}), failed: map[codes.Code]int{}}
	for range opts.workers {
		l.wg.Add(1)
		go func() { defer l.wg.Done(); l.worker(ctx) }()
	}
	go func() { l.wg.Wait(); close(l.done) }()
	return l
}

// finish stops the workers and waits for their calls to end.
func (l *load) finish() {
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	l.wg.Wait()
}

func (l *load) running(ctx context.Context) bool {
	select {
	case <-l.stop:
		return false
	case <-ctx.Done():
		return false
	default:
		return l.sent.Load() < l.opts.maxCommands
	}
}

// worker creates a game, renames it (version 2), opens a session of it and
// puts an entity in the session, over and over.
func (l *load) worker(ctx context.Context) {
	for l.running(ctx) {
		gameID, ok := l.do(ctx, "game", func(c context.Context, o grpc.CallOption) (string, error) {
			resp, err := l.client.CreateGame(c, &gamepb.GameCreateRequest{Name: "crash " + harness.RandomID(3)}, o)
			return resp.GetSingleGame().GetId(), err
		})
		if !ok {
			continue
		}
		l.do(ctx, "game", func(c context.Context, o grpc.CallOption) (string, error) {
			_, err := l.client.UpdateGame(c, &gamepb.GameUpdateRequest{Id: gameID, Name: "renamed " + harness.RandomID(3)}, o)
			return gameID, err
		})
		sessionID, ok := l.do(ctx, "session", func(c context.Context, o grpc.CallOption) (string, error) {
			resp, err := l.client.CreateSession(c, &gamepb.SessionCreate{GameId: gameID, UserIds: []string{l.dev.id}}, o)
			return resp.GetSession().GetId(), err
		})
		if !ok {
			continue
		}
		l.do(ctx, "entity", func(c context.Context, o grpc.CallOption) (string, error) {
			resp, err := l.client.CreateEntity(c, &gamepb.EntityCreateRequest{Name: "crate", Type: "prop", SessionId: sessionID, GameId: gameID}, o)
			return resp.GetEntity().GetId(), err
		})
	}
}

// do sends one command and records its outcome; call returns the id of the
// aggregate it changed.
func (l *load) do(ctx context.Context, kind string, call func(context.Context, grpc.CallOption) (string, error)) (string, bool) {
	if !l.running(ctx) {
		return "", false
	}
	l.sent.Add(1)
	if l.opts.pause > 0 {
		select {
		case <-time.After(l.opts.pause):
		case <-l.stop:
			return "", false
		}
	}
	callCtx, cancel := context.WithTimeout(metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+l.dev.token), 15*time.Second)
	defer cancel()
	var md metadata.MD
	started := time.Now()
	id, err := call(callCtx, grpc.Header(&md))
	if err != nil {
		l.mu.Lock()
		l.failed[status.Code(err)]++
		l.mu.Unlock()
		time.Sleep(20 * time.Millisecond) // a dead server refuses at once; do not spin
		return "", false
	}
	version, perr := strconv.ParseInt(first(md.Get(kit.VersionHeader)), 10, 64)
	if perr != nil || id == "" {
		// An OK without the aggregate's id or version is a broken answer:
		// count it as a failure so the test sees it.
		l.mu.Lock()
		l.failed[codes.Internal]++
		l.mu.Unlock()
		return "", false
	}
	l.mu.Lock()
	l.acks = append(l.acks, ack{subject: kind + "/" + id, version: version,
		consistency: first(md.Get(kit.ConsistencyHeader)), started: started, took: time.Since(started)})
	l.mu.Unlock()
	l.acked.Add(1)
	return id, true
}

// outcomes returns the acknowledgements and the failures by code.
func (l *load) outcomes() ([]ack, map[codes.Code]int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	failed := make(map[codes.Code]int, len(l.failed))
	for c, n := range l.failed {
		failed[c] = n
	}
	return append([]ack(nil), l.acks...), failed
}

func (l *load) String() string {
	acks, failed := l.outcomes()
	return fmt.Sprintf("%d commands sent, %d acknowledged, failures %v", l.sent.Load(), len(acks), failed)
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}
