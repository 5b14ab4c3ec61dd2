package auth

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/oof-gg/platform/pkg/redisx"
	"github.com/oof-gg/platform/pkg/redisx/redistest"
)

func TestParseRefreshToken(t *testing.T) {
	sid := uuid.NewString()
	secret := strings.Repeat("A", 43)
	cases := []struct {
		name  string
		token string
		ok    bool
	}{
		{"well formed", sid + "." + secret, true},
		{"empty", "", false},
		{"no dot", sid + secret, false},
		{"short secret", sid + "." + secret[:42], false},
		{"long secret", sid + "." + secret + "A", false},
		{"not a uuid", "session." + secret, false},
		{"key injection", "x:y:{z}." + secret, false},
		{"empty session", "." + secret, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := parseToken(tc.token)
			if ok != tc.ok || (ok && got != sid) {
				t.Fatalf("parseToken = %q, %v; want ok=%v", got, ok, tc.ok)
			}
		})
	}
}

func testRedis(t *testing.T) *redis.Client { return redistest.Client(t) }

func newStore(t *testing.T, rdb *redis.Client, ttl, grace time.Duration) (*RefreshStore, redisx.Keys) {
	keys := redisx.NewKeys("authtest:" + uuid.NewString()[:8] + ":")
	return NewRefreshStore(rdb, keys, ttl, grace), keys
}

func TestRefreshRotation(t *testing.T) {
	rdb := testRedis(t)
	s, keys := newStore(t, rdb, time.Hour, 50*time.Millisecond)
	ctx := context.Background()

	tok, sid, err := s.Start(ctx, "user-1")
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := parseToken(tok); !ok || got != sid {
		t.Fatalf("Start returned token %q for session %q", tok, sid)
	}
	if revoked, err := s.Revoked(ctx, sid); err != nil || revoked {
		t.Fatalf("fresh session revoked = %v, %v", revoked, err)
	}
	// Only a hash of the token is stored: the secret appears in no key or value.
	secret := strings.SplitN(tok, ".", 2)[1]
	for _, k := range rdb.Keys(ctx, keys.Prefix()+"*").Val() {
		if strings.Contains(k, secret) || strings.Contains(strings.Join(rdb.HVals(ctx, k).Val(), " "), secret) {
			t.Fatalf("refresh secret stored in clear under %s", k)
		}
	}

	chain := []string{tok}
	for i := 0; i < 3; i++ {
		r, err := s.Rotate(ctx, chain[len(chain)-1])
		if err != nil {
			t.Fatalf("rotation %d: %v", i, err)
		}
		if r.Grant != (RefreshGrant{UserID: "user-1", LoginID: sid}) || r.Replayed {
			t.Fatalf("rotation = %+v", r)
		}
		if sidOf, _ := parseToken(r.Next); sidOf != sid || r.Next == chain[len(chain)-1] {
			t.Fatalf("rotation %d gave %q", i, r.Next)
		}
		chain = append(chain, r.Next)
	}
	// No token, used or not, is stored in clear (the successor kept for the
	// grace window is sealed with its predecessor).
	for _, tok := range chain {
		secret := strings.SplitN(tok, ".", 2)[1]
		for _, k := range rdb.Keys(ctx, keys.Prefix()+"*").Val() {
			if rdb.Type(ctx, k).Val() == "hash" && strings.Contains(strings.Join(rdb.HVals(ctx, k).Val(), " "), secret) {
				t.Fatalf("refresh secret stored in clear under %s", k)
			}
		}
	}

	// After the grace window, presenting an already-used token revokes the
	// whole family...
	time.Sleep(100 * time.Millisecond)
	r, err := s.Rotate(ctx, chain[1])
	if !errors.Is(err, ErrRefreshReused) || r.Grant.UserID != "user-1" || r.Grant.LoginID != sid {
		t.Fatalf("reuse = %+v, %v; want ErrRefreshReused with the grant", r, err)
	}
	if revoked, err := s.Revoked(ctx, sid); err != nil || !revoked {
		t.Fatalf("after reuse revoked = %v, %v", revoked, err)
	}
	// ...including the newest, otherwise valid, token.
	if _, err := s.Rotate(ctx, chain[len(chain)-1]); !errors.Is(err, ErrRefreshInvalid) {
		t.Fatalf("newest token after revocation: %v, want ErrRefreshInvalid", err)
	}
	// Other sessions are unaffected.
	other, otherSID, err := s.Start(ctx, "user-1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Rotate(ctx, other); err != nil {
		t.Fatalf("other session: %v", err)
	}
	if revoked, _ := s.Revoked(ctx, otherSID); revoked {
		t.Fatal("other session revoked")
	}
}

func TestRefreshInvalidTokens(t *testing.T) {
	rdb := testRedis(t)
	s, _ := newStore(t, rdb, time.Hour, time.Second)
	ctx := context.Background()
	issued, _, err := s.Start(ctx, "user-1")
	if err != nil {
		t.Fatal(err)
	}
	sid, _ := parseToken(issued)
	cases := map[string]string{
		"garbage":                "garbage",
		"never issued":           uuid.NewString() + "." + strings.Repeat("A", 43),
		"right session, forged":  sid + "." + strings.Repeat("B", 43),
		"right secret, other id": uuid.NewString() + "." + strings.SplitN(issued, ".", 2)[1],
	}
	for name, tok := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := s.Rotate(ctx, tok); !errors.Is(err, ErrRefreshInvalid) {
				t.Fatalf("Rotate = %v, want ErrRefreshInvalid", err)
			}
		})
	}
	// A forged token for a issued session must not revoke it.
	if _, err := s.Rotate(ctx, issued); err != nil {
		t.Fatalf("issued token after forgeries: %v", err)
	}
}

func TestRefreshExpiry(t *testing.T) {
	rdb := testRedis(t)
	s, _ := newStore(t, rdb, 300*time.Millisecond, 10*time.Millisecond)
	ctx := context.Background()
	tok, sid, err := s.Start(ctx, "user-1")
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.Rotate(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(400 * time.Millisecond)
	// With its last token gone, the login is unknown: its access tokens stop
	// validating too.
	if revoked, err := s.Revoked(ctx, sid); err != nil || !revoked {
		t.Fatalf("expired login revoked = %v, %v; want true", revoked, err)
	}
	if _, err := s.Rotate(ctx, r.Next); !errors.Is(err, ErrRefreshInvalid) {
		t.Fatalf("expired token: %v, want ErrRefreshInvalid", err)
	}
}

// Clients racing with the same token (tabs of one browser) all get the same
// successor, and the family stays valid.
func TestRefreshConcurrentRotation(t *testing.T) {
	rdb := testRedis(t)
	s, _ := newStore(t, rdb, time.Hour, 10*time.Second)
	ctx := context.Background()
	tok, sid, err := s.Start(ctx, "user-1")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	nexts := map[string]int{}
	replayed := 0
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := s.Rotate(ctx, tok)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				t.Errorf("racing rotation: %v", err)
				return
			}
			nexts[r.Next]++
			if r.Replayed {
				replayed++
			}
		}()
	}
	wg.Wait()
	if len(nexts) != 1 || replayed != 7 {
		t.Fatalf("successors %v, %d replayed; want one successor, 7 replays", nexts, replayed)
	}
	if revoked, _ := s.Revoked(ctx, sid); revoked {
		t.Fatal("family revoked by racing tabs")
	}
	for next := range nexts {
		if r, err := s.Rotate(ctx, next); err != nil || r.Replayed {
			t.Fatalf("the shared successor does not rotate: %+v, %v", r, err)
		}
	}
}

// A used token is answered with its successor during the grace window only;
// a forged token of the same login never is.
func TestRefreshGraceWindow(t *testing.T) {
	rdb := testRedis(t)
	s, _ := newStore(t, rdb, time.Hour, 300*time.Millisecond)
	ctx := context.Background()
	tok, sid, err := s.Start(ctx, "user-1")
	if err != nil {
		t.Fatal(err)
	}
	first, err := s.Rotate(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ { // a lost response, retried
		again, err := s.Rotate(ctx, tok)
		if err != nil || again.Next != first.Next || !again.Replayed || again.Grant != first.Grant {
			t.Fatalf("retry %d in the window = %+v, %v; want %+v replayed", i, again, err, first)
		}
	}
	if _, err := s.Rotate(ctx, sid+"."+strings.Repeat("C", 43)); !errors.Is(err, ErrRefreshInvalid) {
		t.Fatalf("forged token in the window: %v", err)
	}
	time.Sleep(400 * time.Millisecond)
	if _, err := s.Rotate(ctx, tok); !errors.Is(err, ErrRefreshReused) {
		t.Fatalf("reuse after the window: %v, want ErrRefreshReused", err)
	}
	if revoked, _ := s.Revoked(ctx, sid); !revoked {
		t.Fatal("reuse after the window did not revoke the login")
	}
	if _, err := s.Rotate(ctx, first.Next); !errors.Is(err, ErrRefreshInvalid) {
		t.Fatalf("successor after revocation: %v", err)
	}
}

// A login must be known to count as not revoked.
func TestRevokedKnowsTheLogin(t *testing.T) {
	rdb := testRedis(t)
	s, keys := newStore(t, rdb, time.Hour, time.Second)
	ctx := context.Background()
	tok, sid, err := s.Start(ctx, "user-1")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, id string
		revoked  bool
	}{
		{"started login", sid, false},
		{"never started", uuid.NewString(), true},
		{"not a login id", "s1", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got, err := s.Revoked(ctx, tc.id); err != nil || got != tc.revoked {
				t.Fatalf("Revoked = %v, %v; want %v", got, err, tc.revoked)
			}
		})
	}
	if g, err := s.Owner(ctx, tok); err != nil || g != (RefreshGrant{UserID: "user-1", LoginID: sid}) {
		t.Fatalf("Owner = %+v, %v", g, err)
	}
	// A login started before logins were recorded becomes known again at
	// its next rotation.
	rdb.Del(ctx, keys.Key("login", "{"+sid+"}"))
	if got, _ := s.Revoked(ctx, sid); !got {
		t.Fatal("login without record counts as not revoked")
	}
	if _, err := s.Rotate(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Revoked(ctx, sid); got {
		t.Fatal("rotation did not record the login")
	}
}

type quietRedisLog struct{}

func (quietRedisLog) Printf(context.Context, string, ...any) {}

func TestRefreshRedisDown(t *testing.T) {
	redis.SetLogger(quietRedisLog{})
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DialTimeout: 200 * time.Millisecond, MaxRetries: -1})
	defer rdb.Close()
	s := NewRefreshStore(rdb, redisx.NewKeys("x:"), time.Hour, time.Second)
	// An outage must surface as an error, never as "not revoked".
	revoked, err := s.Revoked(context.Background(), uuid.NewString())
	if err == nil || revoked {
		t.Fatalf("Revoked = %v, %v; want an error", revoked, err)
	}
	if errors.Is(err, ErrInvalidToken) {
		t.Fatalf("outage looks like an invalid token: %v", err)
	}
	if _, _, err := s.Start(context.Background(), "u"); err == nil {
		t.Fatal("Start succeeded without Redis")
	}
}
