package crash

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/oof-gg/platform/tests/harness"
)

// privateBroker is a Kafka broker of one test alone, run by scripts/infra.sh
// from its own DATA_DIR on its own ports, so stopping it disturbs no other
// test (they share the main broker).
type privateBroker struct {
	script  string
	env     []string
	dataDir string
	addr    string
}

// startPrivateBroker starts the broker and stops it when the test ends, even
// if it fails. It needs the Kafka jars scripts/infra.sh installs (`make
// test` has them; elsewhere set TOOLS_DIR to the folder holding them).
func startPrivateBroker(t *testing.T, ctx context.Context) *privateBroker {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	tools := os.Getenv("TOOLS_DIR")
	if tools == "" {
		tools = filepath.Join(root, ".tools")
	}
	if jars, _ := filepath.Glob(filepath.Join(tools, "kafka-*", "libs", ".complete")); len(jars) == 0 {
		t.Fatalf("no Kafka jars in %s: run `scripts/infra.sh install` (or set TOOLS_DIR to where they are)", tools)
	}
	ports := make([]string, 2)
	for i := range ports {
		addr, err := harness.FreeAddr()
		if err != nil {
			t.Fatal(err)
		}
		_, ports[i], _ = net.SplitHostPort(addr)
	}
	b := &privateBroker{script: filepath.Join(root, "scripts", "infra.sh"), dataDir: t.TempDir(), addr: "127.0.0.1:" + ports[0]}
	b.env = append(os.Environ(), "DATA_DIR="+b.dataDir, "TOOLS_DIR="+tools,
		"KAFKA_PORT="+ports[0], "KAFKA_CONTROLLER_PORT="+ports[1], "KAFKA_STOP_TIMEOUT=10")
	t.Cleanup(func() {
		if out, err := b.infra(context.Background(), "stop", "kafka"); err != nil {
			t.Errorf("stop the private broker: %v\n%s", err, out)
		}
	})
	if err := b.start(ctx); err != nil {
		t.Fatal(err)
	}
	return b
}

func (b *privateBroker) infra(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, b.script, args...)
	cmd.Env = b.env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// start launches the broker of DATA_DIR and returns once it answers.
func (b *privateBroker) start(ctx context.Context) error {
	if out, err := b.infra(ctx, "start", "kafka"); err != nil {
		return errors.New("start the private broker: " + err.Error() + "\n" + out)
	}
	return nil
}

// kill ends the broker the hard way (SIGKILL, as a crashed or cut-off broker
// would disappear) and waits until its port refuses connections.
func (b *privateBroker) kill(t *testing.T) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(b.dataDir, "kafka", "kafka.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", b.addr, 200*time.Millisecond)
		if err != nil {
			return
		}
		_ = conn.Close()
		if time.Now().After(deadline) {
			t.Fatal("the private broker still accepts connections 10s after SIGKILL")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// moduleRoot is the folder of go.mod above the working directory.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}
