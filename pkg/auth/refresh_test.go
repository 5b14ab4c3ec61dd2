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

func newStore(t *testing.T, rdb *redis.Client, ttl time.Duration) (*RefreshStore, redisx.Keys) {
	keys := redisx.NewKeys("authtest:" + uuid.NewString()[:8] + ":")
	return NewRefreshStore(rdb, keys, ttl), keys
}

func TestRefreshRotation(t *testing.T) {
	rdb := testRedis(t)
	s, keys := newStore(t, rdb, time.Hour)
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
		next, grant, err := s.Rotate(ctx, chain[len(chain)-1])
		if err != nil {
			t.Fatalf("rotation %d: %v", i, err)
		}
		if grant != (RefreshGrant{UserID: "user-1", SessionID: sid}) {
			t.Fatalf("grant = %+v", grant)
		}
		if sidOf, _ := parseToken(next); sidOf != sid || next == chain[len(chain)-1] {
			t.Fatalf("rotation %d gave %q", i, next)
		}
		chain = append(chain, next)
	}

	// Presenting an already-used token revokes the whole family...
	_, grant, err := s.Rotate(ctx, chain[1])
	if !errors.Is(err, ErrRefreshReused) || grant.UserID != "user-1" || grant.SessionID != sid {
		t.Fatalf("reuse = %+v, %v; want ErrRefreshReused with the grant", grant, err)
	}
	if revoked, err := s.Revoked(ctx, sid); err != nil || !revoked {
		t.Fatalf("after reuse revoked = %v, %v", revoked, err)
	}
	// ...including the newest, otherwise valid, token.
	if _, _, err := s.Rotate(ctx, chain[len(chain)-1]); !errors.Is(err, ErrRefreshInvalid) {
		t.Fatalf("newest token after revocation: %v, want ErrRefreshInvalid", err)
	}
	// Other sessions are unaffected.
	other, otherSID, err := s.Start(ctx, "user-1")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Rotate(ctx, other); err != nil {
		t.Fatalf("other session: %v", err)
	}
	if revoked, _ := s.Revoked(ctx, otherSID); revoked {
		t.Fatal("other session revoked")
	}
}

func TestRefreshInvalidTokens(t *testing.T) {
	rdb := testRedis(t)
	s, _ := newStore(t, rdb, time.Hour)
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
			if _, _, err := s.Rotate(ctx, tok); !errors.Is(err, ErrRefreshInvalid) {
				t.Fatalf("Rotate = %v, want ErrRefreshInvalid", err)
			}
		})
	}
	// A forged token for a issued session must not revoke it.
	if _, _, err := s.Rotate(ctx, issued); err != nil {
		t.Fatalf("issued token after forgeries: %v", err)
	}
}

func TestRefreshExpiry(t *testing.T) {
	rdb := testRedis(t)
	s, _ := newStore(t, rdb, 300*time.Millisecond)
	ctx := context.Background()
	tok, _, err := s.Start(ctx, "user-1")
	if err != nil {
		t.Fatal(err)
	}
	next, _, err := s.Rotate(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(400 * time.Millisecond)
	if _, _, err := s.Rotate(ctx, next); !errors.Is(err, ErrRefreshInvalid) {
		t.Fatalf("expired token: %v, want ErrRefreshInvalid", err)
	}
}

// Two clients racing with the same token: exactly one wins, and the loser
// is treated as reuse, which revokes the family (strict by design).
func TestRefreshConcurrentRotation(t *testing.T) {
	rdb := testRedis(t)
	s, _ := newStore(t, rdb, time.Hour)
	ctx := context.Background()
	tok, sid, err := s.Start(ctx, "user-1")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	results := map[error]int{}
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := s.Rotate(ctx, tok)
			mu.Lock()
			results[err]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if results[nil] != 1 || results[ErrRefreshReused]+results[ErrRefreshInvalid] != 7 {
		t.Fatalf("results %v, want one success", results)
	}
	if revoked, _ := s.Revoked(ctx, sid); !revoked {
		t.Fatal("family not revoked after a racing reuse")
	}
}

type quietRedisLog struct{}

func (quietRedisLog) Printf(context.Context, string, ...any) {}

func TestRefreshRedisDown(t *testing.T) {
	redis.SetLogger(quietRedisLog{})
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DialTimeout: 200 * time.Millisecond, MaxRetries: -1})
	defer rdb.Close()
	s := NewRefreshStore(rdb, redisx.NewKeys("x:"), time.Hour)
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
