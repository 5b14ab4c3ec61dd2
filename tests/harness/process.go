package harness

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/oof-gg/platform/pkg/config"
)

// ConfigEnv is cfg as the OOF_* environment variables config.Load reads, so
// a test can run the oof binary on exactly the namespace New made.
func ConfigEnv(cfg config.Config) []string {
	keys := make([]string, 0, len(cfg.JWTKeys))
	for kid, secret := range cfg.JWTKeys {
		keys = append(keys, kid+":"+base64.StdEncoding.EncodeToString(secret))
	}
	slices.Sort(keys)
	d := func(v time.Duration) string { return v.String() }
	n := func(v int64) string { return strconv.FormatInt(v, 10) }
	return []string{
		"OOF_GRPC_ADDR=" + cfg.GRPCAddr,
		"OOF_ADMIN_ADDR=" + cfg.AdminAddr,
		"OOF_LOG_LEVEL=" + cfg.LogLevel,
		"OOF_CORS_ALLOWED_ORIGINS=" + strings.Join(cfg.CORSAllowedOrigins, ","),
		"OOF_POSTGRES_URL=" + cfg.PostgresURL,
		"OOF_REDIS_ADDR=" + cfg.RedisAddr,
		"OOF_REDIS_KEY_PREFIX=" + cfg.RedisKeyPrefix,
		"OOF_KAFKA_BROKERS=" + strings.Join(cfg.KafkaBrokers, ","),
		"OOF_KAFKA_VERSION=" + cfg.KafkaVersion,
		"OOF_KAFKA_TOPIC_PREFIX=" + cfg.KafkaTopicPrefix,
		"OOF_KAFKA_PARTITIONS=" + n(int64(cfg.KafkaPartitions)),
		"OOF_KAFKA_REPLICATION=" + n(int64(cfg.KafkaReplication)),
		"OOF_PRODUCE_TIMEOUT=" + d(cfg.ProduceTimeout),
		"OOF_PROJECTION_WAIT=" + d(cfg.ProjectionWait),
		"OOF_PROJECTOR_BATCH_MAX=" + n(int64(cfg.ProjectorBatchMax)),
		"OOF_PROJECTOR_MAX_ATTEMPTS=" + n(int64(cfg.ProjectorMaxAttempts)),
		"OOF_PROJECTOR_GROUP_PREFIX=" + cfg.ProjectorGroupPrefix,
		"OOF_JWT_KEYS=" + strings.Join(keys, ","),
		"OOF_JWT_ACTIVE_KID=" + cfg.JWTActiveKID,
		"OOF_JWT_ISSUER=" + cfg.JWTIssuer,
		"OOF_JWT_AUDIENCE=" + cfg.JWTAudience,
		"OOF_JWT_LEEWAY=" + d(cfg.JWTLeeway),
		"OOF_REFRESH_GRACE=" + d(cfg.RefreshGrace),
		"OOF_ACCESS_TOKEN_TTL=" + d(cfg.AccessTokenTTL),
		"OOF_REFRESH_TOKEN_TTL=" + d(cfg.RefreshTokenTTL),
		"OOF_REVOCATION_CACHE_TTL=" + d(cfg.RevocationCacheTTL),
		"OOF_STREAM_AUTH_RECHECK=" + d(cfg.StreamAuthRecheck),
		"OOF_MATCH_TICKET_TTL=" + d(cfg.MatchTicketTTL),
		"OOF_MATCH_MAX_WAIT=" + d(cfg.MatchMaxWait),
		"OOF_ARGON2_MEMORY_KIB=" + n(int64(cfg.PasswordHash.MemoryKiB)),
		"OOF_ARGON2_ITERATIONS=" + n(int64(cfg.PasswordHash.Iterations)),
		"OOF_ARGON2_PARALLELISM=" + n(int64(cfg.PasswordHash.Parallelism)),
		"OOF_LOGIN_LIMIT_PER_ACCOUNT=" + n(int64(cfg.LoginLimitPerAccount)),
		"OOF_LOGIN_LIMIT_PER_ADDRESS=" + n(int64(cfg.LoginLimitPerAddress)),
		"OOF_LOGIN_LIMIT_WINDOW=" + d(cfg.LoginLimitWindow),
		"OOF_REGISTER_LIMIT_PER_ADDRESS=" + n(int64(cfg.RegisterLimitPerAddress)),
		"OOF_REGISTER_LIMIT_WINDOW=" + d(cfg.RegisterLimitWindow),
		"OOF_TRUST_PROXY_HEADERS=" + strconv.FormatBool(cfg.TrustProxyHeaders),
		"OOF_TWITCH_VALIDATE_URL=" + cfg.TwitchValidateURL,
		"OOF_TWITCH_CLIENT_IDS=" + strings.Join(cfg.TwitchClientIDs, ","),
		"OOF_QUOTA_OPEN_SESSIONS_PER_USER=" + n(int64(cfg.Quotas.OpenSessionsPerUser)),
		"OOF_QUOTA_SESSION_RESERVE_PERCENT=" + n(int64(cfg.Quotas.SessionReservePercent)),
		"OOF_QUOTA_ENTITIES_PER_SESSION=" + n(int64(cfg.Quotas.EntitiesPerSession)),
		"OOF_QUOTA_ENTITY_BYTES_PER_SESSION=" + n(cfg.Quotas.EntityBytesPerSession),
		"OOF_LIVE_RATE=" + n(int64(cfg.Live.Rate)),
		"OOF_LIVE_BURST=" + n(int64(cfg.Live.Burst)),
		"OOF_LIVE_WINDOW=" + n(int64(cfg.Live.Window)),
		"OOF_LIVE_EXPIRY=" + d(cfg.Live.Expiry),
		"OOF_LIVE_BUFFER=" + n(int64(cfg.Live.Buffer)),
		"OOF_LIVE_MAX_EVENT_BYTES=" + n(int64(cfg.Live.MaxEventBytes)),
		"OOF_PRESENCE_TTL=" + d(cfg.Live.PresenceTTL),
		"OOF_OTLP_ENDPOINT=" + cfg.Tracing.OTLPEndpoint,
		"OOF_TRACE_SAMPLE_RATIO=" + strconv.FormatFloat(cfg.Tracing.SampleRatio, 'g', -1, 64),
		"OOF_LIVE_RETENTION=" + d(cfg.Live.Retention),
	}
}

// FreeAddr returns a loopback address nothing listens on right now.
func FreeAddr() (string, error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer lis.Close()
	return lis.Addr().String(), nil
}

// BuildBinary compiles cmd/oof into dir and returns its path. It must run
// inside the module (a test's working directory is).
func BuildBinary(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "oof")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/oof-gg/platform/cmd/oof")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build cmd/oof: %w\n%s", err, out)
	}
	return bin, nil
}

// Process is the oof binary running as a child of the test, so a test can
// kill it the way a crash would (SIGKILL: no deferred function, no flush).
type Process struct {
	cmd     *exec.Cmd
	logPath string
	exited  chan struct{}
	state   *os.ProcessState
}

// StartProcess runs bin with args and exactly env (plus PATH and HOME), its
// output appended to logPath.
func StartProcess(bin string, env []string, logPath string, args ...string) (*Process, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	p := &Process{cmd: cmd, logPath: logPath, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		p.state = cmd.ProcessState
		_ = logFile.Close()
		close(p.exited)
	}()
	return p, nil
}

// Exited is closed once the process has ended.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// KilledBySIGKILL reports whether the ended process died of SIGKILL (a
// failpoint, or Kill).
func (p *Process) KilledBySIGKILL() bool {
	select {
	case <-p.exited:
	default:
		return false
	}
	ws, ok := p.state.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
}

// ExitDescription says how the process ended ("running" if it has not).
func (p *Process) ExitDescription() string {
	select {
	case <-p.exited:
		return p.state.String()
	default:
		return "running"
	}
}

// WaitReady polls the admin /readyz until it answers 200; it fails early if
// the process ends.
func (p *Process) WaitReady(ctx context.Context, adminAddr string) error {
	client := &http.Client{Timeout: time.Second}
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+adminAddr+"/readyz", nil)
		if err != nil {
			return err
		}
		if resp, err := client.Do(req); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-p.exited:
			return fmt.Errorf("oof exited before it was ready (%s); log: %s", p.ExitDescription(), p.LogTail(20))
		case <-ctx.Done():
			return fmt.Errorf("oof not ready: %w; log: %s", ctx.Err(), p.LogTail(20))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Kill sends SIGKILL and waits until the process is gone.
func (p *Process) Kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

// Stop asks the process to shut down (SIGTERM) and kills it if it has not
// within grace.
func (p *Process) Stop(grace time.Duration) error {
	select {
	case <-p.exited:
		return nil
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		return nil
	case <-time.After(grace):
		p.Kill()
		return errors.New("oof did not stop within " + grace.String() + "; killed")
	}
}

// LogTail returns the last n lines of the process's output.
func (p *Process) LogTail(n int) string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
