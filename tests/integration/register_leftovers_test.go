package integration

import (
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	authpb "github.com/oof-gg/platform/api/gen/v1/api/auth"
)

// A registration that fails (the name or e-mail is taken, in any case)
// leaves nothing behind: no refresh token in Redis, no account.
func TestFailedRegistrationLeavesNoTokens(t *testing.T) {
	ctx := testCtx(t)
	a := register(t, ctx, "taken")
	tokens := func() int {
		keys, err := env.Redis.Keys(ctx, env.Cfg.RedisKeyPrefix+"rt:*").Result()
		if err != nil {
			t.Fatal(err)
		}
		return len(keys)
	}
	before, accounts := tokens(), countRows(t, ctx, `SELECT count(*) FROM auth_accounts`)
	for _, req := range []*authpb.RegisterRequest{
		{Username: strings.ToUpper(a.username), Email: uniqueName("other") + "@example.com", Password: "password123"},
		{Username: uniqueName("other"), Email: strings.ToUpper(a.email), Password: "password123"},
	} {
		_, err := authClient().Register(asNewClient(ctx), req)
		wantCode(t, err, codes.AlreadyExists)
	}
	if got := tokens(); got != before {
		t.Fatalf("failed registrations left %d refresh tokens in Redis", got-before)
	}
	if n := countRows(t, ctx, `SELECT count(*) FROM auth_accounts`); n != accounts {
		t.Fatalf("failed registrations changed auth_accounts: %d -> %d", accounts, n)
	}
}
