package integration

import (
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"

	authpb "github.com/oof-gg/platform/api/gen/v1/api/auth"
)

// A wrong password and an unknown account are indistinguishable.
func TestLoginFailuresRevealNothing(t *testing.T) {
	ctx := testCtx(t)
	a := register(t, ctx, "lf")
	cases := []struct {
		name string
		req  *authpb.LoginRequest
		want codes.Code
	}{
		{"wrong password", &authpb.LoginRequest{Username: a.username, Password: "wrong password"}, codes.Unauthenticated},
		{"unknown user", &authpb.LoginRequest{Username: uniqueName("nobody"), Password: "wrong password"}, codes.Unauthenticated},
		{"unknown email", &authpb.LoginRequest{Username: uniqueName("nobody") + "@example.com", Password: "whatever1"}, codes.Unauthenticated},
		{"empty password", &authpb.LoginRequest{Username: a.username}, codes.InvalidArgument},
		{"empty username", &authpb.LoginRequest{Password: "whatever1"}, codes.InvalidArgument},
	}
	messages := map[string]bool{}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := authClient().Login(asNewClient(ctx), tc.req)
			st := wantCode(t, err, tc.want)
			if tc.want == codes.Unauthenticated {
				messages[st.Message()] = true
			}
		})
	}
	if len(messages) != 1 {
		t.Fatalf("failed logins used different messages: %v", messages)
	}
}

func TestLoginRateLimits(t *testing.T) {
	ctx := testCtx(t)
	t.Run("per account", func(t *testing.T) {
		a := register(t, ctx, "rla")
		// The account limit is 5 per window in tests; each try comes from a
		// new address so only the account limit applies.
		for i := range 5 {
			_, err := authClient().Login(asNewClient(ctx), &authpb.LoginRequest{Username: a.username, Password: "wrong password"})
			if codeOf(err) != codes.Unauthenticated {
				t.Fatalf("attempt %d: %v, want UNAUTHENTICATED", i+1, err)
			}
		}
		// Now even the right password is refused until the window passes.
		_, err := authClient().Login(asNewClient(ctx), &authpb.LoginRequest{Username: a.username, Password: a.password})
		st := wantCode(t, err, codes.ResourceExhausted)
		assertRetryInfo(t, st.Details())
	})
	t.Run("per address", func(t *testing.T) {
		client := asNewClient(ctx) // one address for every attempt
		var last error
		for i := range 21 {
			_, last = authClient().Login(client, &authpb.LoginRequest{Username: uniqueName("ghost"), Password: "wrong password"})
			if i < 20 && codeOf(last) != codes.Unauthenticated {
				t.Fatalf("attempt %d: %v, want UNAUTHENTICATED", i+1, last)
			}
		}
		st := wantCode(t, last, codes.ResourceExhausted)
		assertRetryInfo(t, st.Details())
	})
}

func assertRetryInfo(t *testing.T, details []any) {
	t.Helper()
	for _, d := range details {
		if ri, ok := d.(*errdetails.RetryInfo); ok && ri.GetRetryDelay().AsDuration() > 0 {
			return
		}
	}
	t.Fatalf("RESOURCE_EXHAUSTED without a RetryInfo detail: %v", details)
}
