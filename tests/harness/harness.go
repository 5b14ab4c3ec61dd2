// Package harness starts a real, isolated oof platform for integration
// tests: its own PostgreSQL database, Kafka topic prefix and Redis key
// prefix on the servers that `make test` (scripts/test.sh) provides, so test
// runs never see each other or a `make up` platform's data.
package harness

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/oof-gg/platform/internal/platform"
	"github.com/oof-gg/platform/pkg/config"
	"github.com/oof-gg/platform/pkg/eventlog"
	"github.com/oof-gg/platform/pkg/routing"
)

// Infra is where the test servers are, from OOF_TEST_* variables.
type Infra struct {
	PostgresURL  string // a URL of a role that may CREATE DATABASE
	RedisAddr    string
	KafkaBrokers []string
}

// InfraFromEnv reads the servers scripts/test.sh started or found.
func InfraFromEnv() (Infra, error) {
	in := Infra{
		PostgresURL: os.Getenv("OOF_TEST_POSTGRES_URL"),
		RedisAddr:   os.Getenv("OOF_TEST_REDIS_ADDR"),
	}
	if b := os.Getenv("OOF_TEST_KAFKA_BROKERS"); b != "" {
		in.KafkaBrokers = strings.Split(b, ",")
	}
	if in.PostgresURL == "" || in.RedisAddr == "" || len(in.KafkaBrokers) == 0 {
		return in, fmt.Errorf("OOF_TEST_POSTGRES_URL, OOF_TEST_REDIS_ADDR and OOF_TEST_KAFKA_BROKERS must be set: run the integration tests with `make test`")
	}
	return in, nil
}

// Env is one isolated platform and clients of its servers.
type Env struct {
	Infra    Infra
	Cfg      config.Config
	DBName   string
	Addr     string // gRPC address of the platform
	Conn     *grpc.ClientConn
	Pool     *pgxpool.Pool
	Redis    *redis.Client
	Kafka    sarama.Client
	Twitch   *FakeTwitch
	Log      *slog.Logger
	stopping []func()

	// AdminAddr is the platform's admin listener (health, metrics, the
	// operator console), set by Start.
	AdminAddr string
}

// RandomID returns n random bytes as hex.
func RandomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Options adjust the platform's config before it starts.
type Options func(*config.Config)

// Start creates the isolated namespace and runs a -target=all platform.
func Start(ctx context.Context, in Infra, opts ...Options) (*Env, error) {
	e, err := New(ctx, in, opts...)
	if err != nil {
		return nil, err
	}
	if err := platform.Prepare(ctx, e.Cfg, e.Log); err != nil {
		e.Stop()
		return nil, err
	}
	r, err := e.RunPlatform(ctx, e.Cfg, routing.TargetAll)
	if err != nil {
		e.Stop()
		return nil, err
	}
	e.Addr, e.AdminAddr = r.GRPCAddr, r.AdminAddr
	e.Conn, err = grpc.NewClient(e.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		e.Stop()
		return nil, err
	}
	e.stopping = append(e.stopping, func() { _ = e.Conn.Close() })
	return e, nil
}

// New creates the isolated namespace (database, topic prefix, Redis prefix),
// its config and clients of its servers, without running a platform: for
// tests that run the platform elsewhere (e.g. the oof binary as a
// subprocess, see Process). Addr and Conn stay empty.
func New(ctx context.Context, in Infra, opts ...Options) (*Env, error) {
	id := RandomID(5)
	e := &Env{Infra: in, DBName: "oof_test_" + id, Log: testLogger()}
	if err := createDatabase(ctx, in.PostgresURL, e.DBName); err != nil {
		return nil, err
	}
	e.stopping = append(e.stopping, func() { _ = dropDatabase(context.Background(), in.PostgresURL, e.DBName) })
	e.Twitch = NewFakeTwitch()
	e.stopping = append(e.stopping, e.Twitch.Close)

	cfg, err := config.Load(func(string) string { return "" })
	if err != nil {
		return nil, err
	}
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	cfg.PostgresURL = withDatabase(in.PostgresURL, e.DBName)
	cfg.RedisAddr = in.RedisAddr
	cfg.RedisKeyPrefix = "t" + id + ":"
	cfg.KafkaBrokers = in.KafkaBrokers
	cfg.KafkaTopicPrefix = "t" + id + "."
	cfg.ProjectorGroupPrefix = cfg.KafkaTopicPrefix
	cfg.KafkaPartitions = 3
	cfg.JWTKeys = map[string][]byte{"k1": secret}
	cfg.JWTActiveKID = "k1"
	// Cheaper hashing keeps the suite fast; benchmarks use the defaults.
	cfg.PasswordHash = config.PasswordHashConfig{MemoryKiB: 8 * 1024, Iterations: 1, Parallelism: 1}
	cfg.LoginLimitPerAccount = 5
	cfg.LoginLimitPerAddress = 20
	cfg.RegisterLimitPerAddress = 5
	cfg.TrustProxyHeaders = true // tests set x-forwarded-for to act as distinct clients
	cfg.TwitchValidateURL = e.Twitch.URL()
	cfg.TwitchClientIDs = []string{"app-1", "app-2"}
	for _, o := range opts {
		o(&cfg)
	}
	e.Cfg = cfg
	if err := e.connectClients(ctx); err != nil {
		e.Stop()
		return nil, err
	}
	return e, nil
}

func (e *Env) connectClients(ctx context.Context) error {
	var err error
	if e.Pool, err = pgxpool.New(ctx, e.Cfg.PostgresURL); err != nil {
		return err
	}
	e.stopping = append(e.stopping, e.Pool.Close)
	e.Redis = redis.NewClient(&redis.Options{Addr: e.Cfg.RedisAddr})
	e.stopping = append(e.stopping, func() { _ = e.Redis.Close() })
	sc, err := eventlog.NewSaramaConfig(eventlog.Options{Brokers: e.Cfg.KafkaBrokers, Version: e.Cfg.KafkaVersion,
		ClientID: "oof-tests", ProduceTimeout: 5 * time.Second})
	if err != nil {
		return err
	}
	if e.Kafka, err = sarama.NewClient(e.Cfg.KafkaBrokers, sc); err != nil {
		return err
	}
	e.stopping = append(e.stopping, func() {
		e.deleteTopics()
		_ = e.Kafka.Close()
	})
	return nil
}

// StartPlatform prepares the schema and topics of cfg and runs a platform
// of the given target in this process until Stop; it returns its gRPC
// address. Tests start a second one (e.g. projectors rebuilding into a fresh
// database) with a modified copy of e.Cfg.
func (e *Env) StartPlatform(ctx context.Context, cfg config.Config, target routing.Target) (string, error) {
	if err := platform.Prepare(ctx, cfg, e.Log); err != nil {
		return "", err
	}
	r, err := e.RunPlatform(ctx, cfg, target)
	return r.GRPCAddr, err
}

// Running is where a platform started by RunPlatform listens.
type Running struct {
	GRPCAddr  string
	AdminAddr string // /healthz, /readyz, /metrics
	// Stop shuts this platform down now (it is also stopped with the Env).
	Stop func()
}

// RunPlatform runs a platform of the given target in this process until
// Stop, without preparing anything first: cfg's schema and topics must exist
// (e.g. those of e.Cfg). Unlike StartPlatform it needs only what the target
// itself connects to, so a test can start a query target whose Kafka is
// unreachable. opts reach platform.Build (e.g. test-only services).
func (e *Env) RunPlatform(ctx context.Context, cfg config.Config, target routing.Target, opts ...platform.Option) (Running, error) {
	p, err := platform.Build(ctx, cfg, target, e.Log, opts...)
	if err != nil {
		return Running{}, err
	}
	grpcLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return Running{}, err
	}
	adminLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = grpcLis.Close()
		return Running{}, err
	}
	runCtx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := p.Run(runCtx, grpcLis, adminLis); err != nil {
			e.Log.Error("platform stopped with error", "err", err)
		}
	}()
	var once sync.Once
	stop := func() { once.Do(func() { cancel(); <-done }) }
	e.stopping = append(e.stopping, stop)
	return Running{GRPCAddr: grpcLis.Addr().String(), AdminAddr: adminLis.Addr().String(), Stop: stop}, nil
}

// Topic is the full name of a platform topic in this environment.
func (e *Env) Topic(name string) string { return e.Cfg.Topic(name) }

// Stop shuts the platform down and removes the namespace.
func (e *Env) Stop() {
	for i := len(e.stopping) - 1; i >= 0; i-- {
		e.stopping[i]()
	}
	e.stopping = nil
}

func (e *Env) deleteTopics() {
	admin, err := sarama.NewClusterAdminFromClient(e.Kafka)
	if err != nil {
		return
	}
	topics, err := admin.ListTopics()
	if err != nil {
		return
	}
	for name := range topics {
		if strings.HasPrefix(name, e.Cfg.KafkaTopicPrefix) {
			_ = admin.DeleteTopic(name)
		}
	}
}

func testLogger() *slog.Logger {
	if os.Getenv("OOF_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// NewJWTSecret returns a random key in OOF_JWT_KEYS encoding.
func NewJWTSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

func withDatabase(rawURL, db string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return rawURL
	}
	u.Path = "/" + db
	return u.String()
}

func createDatabase(ctx context.Context, adminURL, name string) error {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("connect to test postgres: %w", err)
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	return err
}

func dropDatabase(ctx context.Context, adminURL, name string) error {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	return err
}

// CreateDatabase makes another empty database on the test server (e.g. for
// replaying the topics into a fresh schema); it is dropped at Stop.
func (e *Env) CreateDatabase(ctx context.Context, suffix string) (string, error) {
	name := e.DBName + "_" + suffix
	if err := createDatabase(ctx, e.Infra.PostgresURL, name); err != nil {
		return "", err
	}
	e.stopping = append(e.stopping, func() { _ = dropDatabase(context.Background(), e.Infra.PostgresURL, name) })
	return withDatabase(e.Infra.PostgresURL, name), nil
}
