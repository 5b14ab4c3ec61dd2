package integration

import (
	"strings"
	"sync"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"

	authpb "github.com/oof-gg/platform/api/gen/v1/api/auth"
)

func TestRegisterRejectsBadInput(t *testing.T) {
	ctx := testCtx(t)
	good := uniqueName("val")
	cases := []struct {
		name      string
		req       *authpb.RegisterRequest
		wantField string
	}{
		{"short username", &authpb.RegisterRequest{Username: "ab", Email: "ab@example.com", Password: "password1"}, "username"},
		{"long username", &authpb.RegisterRequest{Username: strings.Repeat("a", 33), Email: "a@example.com", Password: "password1"}, "username"},
		{"username with space", &authpb.RegisterRequest{Username: "bad name", Email: "b@example.com", Password: "password1"}, "username"},
		{"username with unicode", &authpb.RegisterRequest{Username: "héllo", Email: "h@example.com", Password: "password1"}, "username"},
		{"missing email", &authpb.RegisterRequest{Username: good, Password: "password1"}, "email"},
		{"email without domain dot", &authpb.RegisterRequest{Username: good, Email: "x@localhost", Password: "password1"}, "email"},
		{"email with display name", &authpb.RegisterRequest{Username: good, Email: "Bob <bob@example.com>", Password: "password1"}, "email"},
		{"short password", &authpb.RegisterRequest{Username: good, Email: good + "@example.com", Password: "1234567"}, "password"},
		{"password over 128 bytes", &authpb.RegisterRequest{Username: good, Email: good + "@example.com", Password: strings.Repeat("é", 65)}, "password"},
	}
	before := countRows(t, ctx, `SELECT count(*) FROM auth_accounts`)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := authClient().Register(asNewClient(ctx), tc.req)
			st := wantCode(t, err, codes.InvalidArgument)
			var fields []string
			for _, d := range st.Details() {
				if br, ok := d.(*errdetails.BadRequest); ok {
					for _, v := range br.GetFieldViolations() {
						fields = append(fields, v.GetField())
					}
				}
			}
			if len(fields) == 0 || fields[0] != tc.wantField {
				t.Fatalf("field violations %v, want %q first", fields, tc.wantField)
			}
		})
	}
	if after := countRows(t, ctx, `SELECT count(*) FROM auth_accounts`); after != before {
		t.Fatalf("rejected registrations changed auth_accounts: %d -> %d", before, after)
	}
}

// Many clients race to register one username (in different letter cases):
// exactly one wins, the rest get ALREADY_EXISTS, and one user exists.
func TestConcurrentDuplicateRegistration(t *testing.T) {
	ctx := testCtx(t)
	name := uniqueName("race")
	const racers = 8
	var wg sync.WaitGroup
	codesSeen := make([]codes.Code, racers)
	for i := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			username := name
			if i%2 == 1 {
				username = strings.ToUpper(name)
			}
			_, err := authClient().Register(asNewClient(ctx), &authpb.RegisterRequest{
				Username: username, Email: name + harnessSuffix(i) + "@example.com", Password: "password123"})
			codesSeen[i] = codeOf(err)
		}()
	}
	wg.Wait()
	wins, dups := 0, 0
	for _, c := range codesSeen {
		switch c {
		case codes.OK:
			wins++
		case codes.AlreadyExists:
			dups++
		default:
			t.Fatalf("unexpected code %v", c)
		}
	}
	if wins != 1 || dups != racers-1 {
		t.Fatalf("wins=%d duplicates=%d, want 1 and %d", wins, dups, racers-1)
	}
	if n := countRows(t, ctx, `SELECT count(*) FROM users WHERE lower(username) = lower($1)`, name); n != 1 {
		t.Fatalf("users read model has %d rows for %s, want 1", n, name)
	}

	// The same holds for e-mail addresses, case-insensitively.
	email := uniqueName("mail") + "@example.com"
	first, err := authClient().Register(asNewClient(ctx), &authpb.RegisterRequest{Username: uniqueName("m1"), Email: email, Password: "password123"})
	if err != nil || first.GetUserId() == "" {
		t.Fatalf("first registration with %s: %v", email, err)
	}
	_, err = authClient().Register(asNewClient(ctx), &authpb.RegisterRequest{Username: uniqueName("m2"), Email: strings.ToUpper(email), Password: "password123"})
	wantCode(t, err, codes.AlreadyExists)
}

func harnessSuffix(i int) string { return "+" + string(rune('a'+i)) }
