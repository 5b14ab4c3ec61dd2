package browser

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	authpb "github.com/oof-gg/platform/api/gen/v1/api/auth"
	"github.com/oof-gg/platform/tests/harness"
)

// nodeDir holds the Node acceptance script and its pinned package-lock.json.
var nodeDir = filepath.Join("..", "node")

// nodePath finds node and npm. Without them the test is skipped on a
// developer machine, but fails under CI (CI set): there a missing node means
// the check silently stopped running.
func nodePath(t *testing.T) (node, npm string) {
	t.Helper()
	node, errNode := exec.LookPath("node")
	npm, errNpm := exec.LookPath("npm")
	if errNode == nil && errNpm == nil {
		return node, npm
	}
	msg := "no node/npm on PATH (install them: apt-get install -y nodejs npm)"
	if os.Getenv("CI") != "" {
		t.Fatal(msg + "; CI is set, so this is a failure")
	}
	t.Skip(msg)
	return "", ""
}

var (
	npmCIOnce sync.Once
	npmCIErr  error
)

// npmCI installs tests/node's dependencies exactly as package-lock.json pins
// them, once per test binary. tests/node/.npmrc turns install scripts off,
// so only the npm registry is needed.
func npmCI(t *testing.T, npm string) {
	t.Helper()
	npmCIOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund")
		cmd.Dir = nodeDir
		out, err := cmd.CombinedOutput()
		if err != nil {
			npmCIErr = err
			t.Logf("npm ci:\n%s", out)
		}
	})
	if npmCIErr != nil {
		t.Fatalf("npm ci in %s: %v", nodeDir, npmCIErr)
	}
}

// The published client package (@oof.gg/protobuf-ts-web, which always sends
// grpc-web-text) registers, logs in and validates its token from Node
// through the platform's gRPC-Web translator, and a wrong password comes
// back UNAUTHENTICATED; the account it made is real (the Go gRPC client logs
// into it as the same user).
func TestNodeClientAcceptance(t *testing.T) {
	node, npm := nodePath(t)
	in, err := harness.InfraFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	npmCI(t, npm)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	env, err := harness.Start(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	defer env.Stop()

	user := "node_" + harness.RandomID(4)
	cmd := exec.CommandContext(ctx, node, "acceptance.mjs", env.Addr, user)
	cmd.Dir = nodeDir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node acceptance.mjs %s: %v\nstdout: %s\nstderr: %s", env.Addr, err, stdout.String(), stderr.String())
	}
	var got struct{ Username, UserID string }
	if err := json.Unmarshal(bytes.TrimSpace(stdout.Bytes()), &got); err != nil || got.Username != user || got.UserID == "" {
		t.Fatalf("node acceptance output %q: %v; want the user %s and its id", stdout.String(), err, user)
	}
	t.Logf("node client registered %s (%s)", got.Username, got.UserID)

	// The account exists: the native gRPC client logs into it and the token
	// names the user the Node client was given.
	auth := authpb.NewAuthServiceClient(env.Conn)
	login, err := auth.Login(ctx, &authpb.LoginRequest{Username: user, Password: "correct horse battery"})
	if err != nil {
		t.Fatalf("Login over gRPC as the Node client's user: %v", err)
	}
	v, err := auth.ValidateToken(ctx, &authpb.ValidateTokenRequest{AccessToken: login.GetAccessToken()})
	if err != nil || !v.GetIsValid() || v.GetUserId() != got.UserID {
		t.Fatalf("ValidateToken: %v, %v; want user %s", v, err, got.UserID)
	}
	var n int
	if err := env.Pool.QueryRow(ctx, "SELECT count(*) FROM auth_accounts WHERE username = $1", user).Scan(&n); err != nil || n != 1 {
		t.Fatalf("auth_accounts rows for %s: %d, %v", user, n, err)
	}
	if strings.TrimSpace(stderr.String()) != "" {
		t.Logf("node stderr: %s", stderr.String())
	}
}
