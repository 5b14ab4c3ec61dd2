package integration

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	opspb "github.com/oof-gg/platform/api/gen/oof/ops/v1"
	authpb "github.com/oof-gg/platform/api/gen/v1/api/auth"
)

// The admin listener serves the operator console's page and forwards the
// console's RPCs (gRPC-Web, same origin) to the platform's gRPC server,
// with its authentication and admin checks; it forwards nothing else.
func TestConsoleOnAdminListener(t *testing.T) {
	ctx := testCtx(t)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+env.AdminAddr+"/console/", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), "operator console") {
		t.Fatalf("GET /console/: %d\n%s", resp.StatusCode, page)
	}

	admin, player := signedIn(t, ctx, "admin"), signedIn(t, ctx, "player")
	var login authpb.LoginResponse
	if _, code := webCallAt(t, ctx, env.AdminAddr, "/v1.api.auth.AuthService/Login",
		&authpb.LoginRequest{Username: admin.username, Password: admin.password}, &login, false, nil); code != "0" || login.GetAccessToken() == "" {
		t.Fatalf("Login on the admin listener: grpc-status %s", code)
	}
	bearer := func(token string) map[string]string { return map[string]string{"Authorization": "Bearer " + token} }
	var st opspb.GetStatusResponse
	if _, code := webCallAt(t, ctx, env.AdminAddr, "/oof.ops.v1.OpsService/GetStatus", &opspb.GetStatusRequest{}, &st, false,
		bearer(login.GetAccessToken())); code != "0" || len(st.GetLag()) == 0 {
		t.Fatalf("GetStatus as admin: grpc-status %s, %d lag rows", code, len(st.GetLag()))
	}
	for name, h := range map[string]map[string]string{"player": bearer(player.token), "anonymous": nil} {
		want := map[string]string{"player": "7", "anonymous": "16"}[name] // PERMISSION_DENIED, UNAUTHENTICATED
		if _, code := webCallAt(t, ctx, env.AdminAddr, "/oof.ops.v1.OpsService/ListDeadLetters",
			&opspb.ListDeadLettersRequest{}, &opspb.ListDeadLettersResponse{}, false, h); code != want {
			t.Errorf("ListDeadLetters as %s: grpc-status %s, want %s", name, code, want)
		}
	}

	// Methods the console does not call are not on this listener at all.
	name := uniqueName("consolenew")
	for _, m := range []string{"/oof.ops.v1.OpsService/CreateUser", "/v1.api.auth.AuthService/Register"} {
		msg, err := proto.Marshal(&opspb.CreateUserRequest{Username: name, Password: "correct horse battery"})
		if err != nil {
			t.Fatal(err)
		}
		framed := append([]byte{0, 0, 0, 0, byte(len(msg))}, msg...)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+env.AdminAddr+m, bytes.NewReader(framed))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/grpc-web+proto")
		req.Header.Set("Authorization", "Bearer "+login.GetAccessToken())
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("%s on the admin listener: HTTP %d; want 404 or 405", m, resp.StatusCode)
		}
	}
	if n := countRows(t, ctx, `SELECT count(*) FROM auth_accounts WHERE username = $1`, name); n != 0 {
		t.Fatal("a call the admin listener must not forward created an account")
	}
}
