package integration

import (
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	authpb "github.com/oof-gg/platform/api/gen/v1/api/auth"
)

// Registrations are limited per client address (5 per window in tests), like
// logins: every attempt that passes validation counts, a taken name too. The
// refused registration changes nothing; another address is not affected.
func TestRegisterRateLimitPerAddress(t *testing.T) {
	ctx := testCtx(t)
	client := asNewClient(ctx) // one address for every attempt
	req := func(name string) *authpb.RegisterRequest {
		return &authpb.RegisterRequest{Username: name, Email: name + "@example.com", Password: "password123"}
	}
	taken := register(t, ctx, "rlt")
	for i := range 4 {
		if _, err := authClient().Register(client, req(uniqueName("rlr"))); err != nil {
			t.Fatalf("registration %d: %v", i+1, err)
		}
	}
	// Invalid input is refused before the limit and does not count.
	_, err := authClient().Register(client, &authpb.RegisterRequest{Username: "x", Email: "bad", Password: "1"})
	wantCode(t, err, codes.InvalidArgument)
	// A taken name counts: probing which names exist is bounded too.
	_, err = authClient().Register(client, req(strings.ToUpper(taken.username)))
	wantCode(t, err, codes.AlreadyExists)

	accounts, tokens := countRows(t, ctx, `SELECT count(*) FROM auth_accounts`), refreshTokenCount(t)
	refused := uniqueName("rlr")
	_, err = authClient().Register(client, req(refused))
	st := wantCode(t, err, codes.ResourceExhausted)
	assertRetryInfo(t, st.Details())
	if n := countRows(t, ctx, `SELECT count(*) FROM auth_accounts WHERE lower(username) = lower($1)`, refused); n != 0 {
		t.Fatal("the refused registration created an account")
	}
	if n := countRows(t, ctx, `SELECT count(*) FROM auth_accounts`); n != accounts {
		t.Fatalf("the refused registration changed auth_accounts: %d -> %d", accounts, n)
	}
	if n := refreshTokenCount(t); n != tokens {
		t.Fatalf("the refused registration left %d refresh tokens", n-tokens)
	}
	// The same name from another address registers fine.
	if _, err := authClient().Register(asNewClient(ctx), req(refused)); err != nil {
		t.Fatalf("another address: %v", err)
	}
}

func refreshTokenCount(t *testing.T) int {
	t.Helper()
	keys, err := env.Redis.Keys(testCtx(t), env.Cfg.RedisKeyPrefix+"rt:*").Result()
	if err != nil {
		t.Fatal(err)
	}
	return len(keys)
}

// The per-account login limit (5 in tests) counts the account, however it
// is named: failures by username and by e-mail (in any case) share one
// budget, so alternating them does not double the guesses.
func TestLoginLimitCountsTheAccountNotTheSpelling(t *testing.T) {
	ctx := testCtx(t)
	a := register(t, ctx, "rls")
	names := []string{a.username, a.email, strings.ToUpper(a.username), strings.ToUpper(a.email), a.email}
	for i, name := range names {
		_, err := authClient().Login(asNewClient(ctx), &authpb.LoginRequest{Username: name, Password: "wrong password"})
		if codeOf(err) != codes.Unauthenticated {
			t.Fatalf("attempt %d (%s): %v, want UNAUTHENTICATED", i+1, name, err)
		}
	}
	// The sixth attempt is refused whichever name it uses, even with the
	// right password.
	for _, name := range []string{a.username, a.email} {
		_, err := authClient().Login(asNewClient(ctx), &authpb.LoginRequest{Username: name, Password: a.password})
		st := wantCode(t, err, codes.ResourceExhausted)
		assertRetryInfo(t, st.Details())
	}
}

// Identifiers that name no account are limited per identifier, with the
// same answers as a real account, so the limit does not tell them apart.
func TestLoginLimitForUnknownIdentifiers(t *testing.T) {
	ctx := testCtx(t)
	ghost := uniqueName("ghost")
	for i := range 5 {
		_, err := authClient().Login(asNewClient(ctx), &authpb.LoginRequest{Username: ghost, Password: "wrong password"})
		if codeOf(err) != codes.Unauthenticated {
			t.Fatalf("attempt %d: %v, want UNAUTHENTICATED", i+1, err)
		}
	}
	_, err := authClient().Login(asNewClient(ctx), &authpb.LoginRequest{Username: strings.ToUpper(ghost), Password: "wrong password"})
	st := wantCode(t, err, codes.ResourceExhausted)
	assertRetryInfo(t, st.Details())
	// Another unknown identifier has its own budget.
	_, err = authClient().Login(asNewClient(ctx), &authpb.LoginRequest{Username: ghost + "x", Password: "wrong password"})
	wantCode(t, err, codes.Unauthenticated)
}
