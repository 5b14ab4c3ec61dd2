package auth

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// fakeRevocations is an in-memory RevocationChecker that counts lookups.
type fakeRevocations struct {
	mu      sync.Mutex
	revoked map[string]bool
	err     error
	calls   map[string]int
}

func newFakeRevocations() *fakeRevocations {
	return &fakeRevocations{revoked: map[string]bool{}, calls: map[string]int{}}
}

func (f *fakeRevocations) Revoked(_ context.Context, sid string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[sid]++
	if f.err != nil {
		return false, f.err
	}
	return f.revoked[sid], nil
}

func (f *fakeRevocations) set(sid string, revoked bool) {
	f.mu.Lock()
	f.revoked[sid] = revoked
	f.mu.Unlock()
}

func (f *fakeRevocations) fail(err error) { f.mu.Lock(); f.err = err; f.mu.Unlock() }

func (f *fakeRevocations) n(sid string) int { f.mu.Lock(); defer f.mu.Unlock(); return f.calls[sid] }

type validatorFixture struct {
	clk   *clock
	iss   *TokenIssuer
	revs  *fakeRevocations
	valid *Validator
}

func newValidatorFixture(t *testing.T, cacheTTL time.Duration) *validatorFixture {
	t.Helper()
	clk := newClock()
	ring := mustRing(t, map[string][]byte{"k1": key1}, "k1")
	revs := newFakeRevocations()
	return &validatorFixture{
		clk:   clk,
		iss:   NewTokenIssuer(ring, testIssuer, testAudience, 24*time.Hour, clk.Now),
		revs:  revs,
		valid: NewValidator(NewTokenVerifier(ring, testIssuer, testAudience, testLeeway, clk.Now), revs, cacheTTL, clk.Now),
	}
}

func (f *validatorFixture) token(t *testing.T, sid string) string {
	t.Helper()
	tok, err := f.iss.Issue("user-"+sid, RoleDeveloper, sid)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestValidatorPrincipal(t *testing.T) {
	f := newValidatorFixture(t, time.Second)
	tok := f.token(t, "s1")
	claims, err := f.valid.verifier.Verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	p, err := f.valid.Validate(context.Background(), tok)
	if err != nil {
		t.Fatalf("Validate: %v", err)
	}
	want := Principal{UserID: "user-s1", Role: RoleDeveloper, LoginID: "s1", TokenID: claims.ID}
	if p != want {
		t.Fatalf("principal = %+v, want %+v", p, want)
	}
}

func TestValidatorCacheTTL(t *testing.T) {
	cases := []struct {
		name      string
		cacheTTL  time.Duration
		advance   time.Duration // before the second call
		wantCalls int           // lookups after two calls
	}{
		{"second call within ttl is cached", time.Second, 999 * time.Millisecond, 1},
		{"second call at ttl looks up again", time.Second, time.Second, 2},
		{"second call after ttl looks up again", time.Second, time.Minute, 2},
		{"same instant is cached", time.Second, 0, 1},
		{"ttl 0 disables the cache", 0, 0, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newValidatorFixture(t, tc.cacheTTL)
			tok := f.token(t, "s1")
			if _, err := f.valid.Validate(context.Background(), tok); err != nil {
				t.Fatal(err)
			}
			f.clk.Advance(tc.advance)
			if _, err := f.valid.Validate(context.Background(), tok); err != nil {
				t.Fatal(err)
			}
			if got := f.revs.n("s1"); got != tc.wantCalls {
				t.Fatalf("revocation lookups = %d, want %d", got, tc.wantCalls)
			}
		})
	}
}

func TestValidatorCacheIsPerSession(t *testing.T) {
	f := newValidatorFixture(t, time.Minute)
	for _, sid := range []string{"a", "b", "a", "b", "c"} {
		if _, err := f.valid.Validate(context.Background(), f.token(t, sid)); err != nil {
			t.Fatal(err)
		}
	}
	for sid, want := range map[string]int{"a": 1, "b": 1, "c": 1} {
		if got := f.revs.n(sid); got != want {
			t.Fatalf("lookups for %s = %d, want %d", sid, got, want)
		}
	}
	// Revoking one session does not affect the cached others.
	f.revs.set("a", true)
	f.clk.Advance(time.Minute)
	if _, err := f.valid.Validate(context.Background(), f.token(t, "a")); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("revoked session a: %v", err)
	}
	if _, err := f.valid.Validate(context.Background(), f.token(t, "b")); err != nil {
		t.Fatalf("session b: %v", err)
	}
}

func TestValidatorRevocationIsBoundedStale(t *testing.T) {
	f := newValidatorFixture(t, time.Second)
	tok := f.token(t, "s1")
	if _, err := f.valid.Validate(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	f.revs.set("s1", true)
	// Within the cache TTL the cached "not revoked" may still be trusted...
	f.clk.Advance(500 * time.Millisecond)
	if _, err := f.valid.Validate(context.Background(), tok); err != nil {
		t.Fatalf("within ttl: %v", err)
	}
	// ...but never past it.
	f.clk.Advance(500 * time.Millisecond)
	if _, err := f.valid.Validate(context.Background(), tok); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("after ttl: err = %v, want ErrInvalidToken", err)
	}
}

func TestValidatorRevokedSticks(t *testing.T) {
	f := newValidatorFixture(t, time.Second)
	tok := f.token(t, "s1")
	f.revs.set("s1", true)
	if _, err := f.valid.Validate(context.Background(), tok); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("revoked: err = %v, want ErrInvalidToken", err)
	}
	// Even if the store forgets (e.g. its key expired) and long after the
	// cache TTL, a session seen revoked stays revoked without new lookups.
	f.revs.set("s1", false)
	for _, d := range []time.Duration{time.Second, time.Hour, 20 * time.Hour} {
		f.clk.Advance(d)
		if _, err := f.valid.Validate(context.Background(), tok); !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("after %v: err = %v, want ErrInvalidToken", d, err)
		}
	}
	if got := f.revs.n("s1"); got != 1 {
		t.Fatalf("revocation lookups = %d, want 1", got)
	}
}

func TestValidatorCheckerErrors(t *testing.T) {
	f := newValidatorFixture(t, time.Minute)
	tok := f.token(t, "s1")
	outage := errors.New("redis: connection refused")
	f.revs.fail(outage)
	for i := 0; i < 2; i++ {
		_, err := f.valid.Validate(context.Background(), tok)
		if !errors.Is(err, outage) {
			t.Fatalf("call %d: err = %v, want the checker's error", i, err)
		}
		if errors.Is(err, ErrInvalidToken) {
			t.Fatalf("call %d: an outage must not look like an invalid token: %v", i, err)
		}
	}
	if got := f.revs.n("s1"); got != 2 {
		t.Fatalf("failed lookups were cached: %d lookups, want 2", got)
	}
	// Recovery: the next call succeeds and is cached from then on.
	f.revs.fail(nil)
	for i := 0; i < 2; i++ {
		if _, err := f.valid.Validate(context.Background(), tok); err != nil {
			t.Fatalf("after recovery: %v", err)
		}
	}
	if got := f.revs.n("s1"); got != 3 {
		t.Fatalf("lookups = %d, want 3", got)
	}
}

func TestValidatorInvalidTokenSkipsLookup(t *testing.T) {
	f := newValidatorFixture(t, time.Second)
	f.revs.fail(errors.New("must not be called"))
	_, err := f.valid.Validate(context.Background(), "garbage")
	if !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("err = %v, want ErrInvalidToken", err)
	}
	f.revs.mu.Lock()
	defer f.revs.mu.Unlock()
	if len(f.revs.calls) != 0 {
		t.Fatalf("checker called for an invalid token: %v", f.revs.calls)
	}
}

func TestValidatorConcurrent(t *testing.T) {
	f := newValidatorFixture(t, time.Millisecond)
	toks := []string{f.token(t, "a"), f.token(t, "b")}
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for j := 0; j < 50; j++ {
				if _, err := f.valid.Validate(context.Background(), toks[(i+j)%2]); err != nil {
					t.Error(err)
					return
				}
				if j%10 == 0 {
					f.clk.Advance(time.Millisecond)
				}
			}
		}(i)
	}
	wg.Wait()
}
