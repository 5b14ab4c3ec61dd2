// Command oofbench measures the platform's throughput and latency over real
// gRPC against real PostgreSQL, Redis and Kafka, and prints a Markdown table
// with the speed goals: ratios to floors (the same work without platform
// code) measured in the same run. Goals live here, never in tests. Run it with
// `make bench` (scripts/bench.sh), which provides the infrastructure.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"regexp"
	"runtime/pprof"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	authpb "github.com/oof-gg/platform/api/gen/v1/api/auth"
	"github.com/oof-gg/platform/internal/platform"
	"github.com/oof-gg/platform/pkg/config"
	"github.com/oof-gg/platform/tests/harness"
)

// scenarios lists every scenario in the order they run. Later scenarios may
// judge themselves against earlier results (Login against the hash rate).
func scenarios(b *bench) []scenario {
	return []scenario{
		hashRate(b),
		register(b),
		login(b),
		emptyRPCFloor(b),
		validateToken(b),
		pgInsertFloor(b),
		kafkaProduceFloor(b),
		createSession(b),
		createEntity(b),
		readRPCFloor(b),
		getSession(b),
		getEntity(b),
		projectionLag(b),
		relayFloor(b), liveEvents(b), matchmakerPlacement(b), // realtime*.go, matchmaking.go
		submitScore(b), scoreLag(b), boardFloor(b), getLeaderboard(b), rankFloor(b), getPlayerRank(b), // scores.go
		rebuildReadFloor(b), rebuildSessions(b), replayReadFloor(b), replayMatch(b), // opsrebuild.go, opsreplay.go
	}
}

// productionHash is the argon2id cost of pkg/config's defaults.
var productionHash = config.PasswordHashConfig{MemoryKiB: 19 * 1024, Iterations: 2, Parallelism: 1}

type options struct {
	duration    time.Duration
	warmup      time.Duration
	settle      time.Duration
	concurrency int
	conns       int
	only        *regexp.Regexp
	cpuProfile  string
	opsEvents   int // events per topic of the operator scenarios (opsdata.go)
}

// bench is what scenarios share: the platform and its clients.
type bench struct {
	opts       options
	env        *harness.Env
	clients    []authpb.AuthServiceClient
	conns      []*grpc.ClientConn // the connections behind clients
	hashParams config.PasswordHashConfig
	runID      string // makes usernames unique per run

	floorMu sync.Mutex
	pool    *pgxpool.Pool // the floors' own pool, built like the platform's
	floor   *floorClients // clients of the floor gRPC server
	closers []func()      // what the floors started, closed before the platform

	ops opsFixture // the operator scenarios' data, built once
}

// client spreads workers over the client connections.
func (b *bench) client(worker int) authpb.AuthServiceClient {
	return b.clients[worker%len(b.clients)]
}

// concurrency is -concurrency when set, else the scenario's default.
func (b *bench) concurrency(def int) int {
	if b.opts.concurrency > 0 {
		return b.opts.concurrency
	}
	return def
}

func main() {
	code, err := mainErr()
	if err != nil {
		fmt.Fprintln(os.Stderr, "oofbench:", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

func mainErr() (int, error) {
	var o options
	var only string
	flag.DurationVar(&o.duration, "duration", 5*time.Second, "measured time per scenario")
	flag.DurationVar(&o.warmup, "warmup", time.Second, "unmeasured warm-up per scenario")
	flag.DurationVar(&o.settle, "settle", 10*time.Second, "before each scenario, wait up to this long for the machine to go quiet (< 15% CPU); 0 = don't wait")
	flag.IntVar(&o.concurrency, "concurrency", 0, "concurrent callers for every gRPC scenario (0: 2*GOMAXPROCS for hashing scenarios, 32 for the others and their floors); the raw hash rate always uses GOMAXPROCS")
	flag.IntVar(&o.conns, "conns", 4, "gRPC client connections the callers share")
	flag.StringVar(&only, "run", "", "run only scenarios whose name matches this regexp")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the measured scenarios (client and server: one process) to this file")
	flag.IntVar(&o.opsEvents, "ops-events", envInt("OOF_BENCH_OPS_EVENTS", 1_000_000),
		"events on each topic of the rebuild and replay scenarios, produced once before the first of them (default $OOF_BENCH_OPS_EVENTS, else 1,000,000)")
	flag.Parse()
	if flag.NArg() > 0 {
		return 2, fmt.Errorf("unexpected arguments %q", flag.Args())
	}
	if o.duration <= 0 || o.warmup < 0 || o.settle < 0 || o.conns < 1 || o.concurrency < 0 || o.opsEvents < lifecyclePerMatch {
		return 2, errors.New("-duration must be > 0, -warmup and -settle ≥ 0, -conns ≥ 1, -concurrency ≥ 0, -ops-events ≥ 10")
	}
	if only != "" {
		re, err := regexp.Compile(only)
		if err != nil {
			return 2, fmt.Errorf("-run: %w", err)
		}
		o.only = re
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	platform.TuneGC() // as the serving binary does
	b, cleanup, err := startBench(ctx, o)
	if err != nil {
		return 1, err
	}
	defer cleanup()

	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return 1, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return 1, err
		}
		defer pprof.StopCPUProfile()
	}

	var results []result
	prior := map[string]result{}
	for _, s := range scenarios(b) {
		if o.only != nil && !o.only.MatchString(s.name) {
			continue
		}
		if ctx.Err() != nil {
			break
		}
		fmt.Fprintf(os.Stderr, "oofbench: %s: %d callers, %v warm-up + %v\n", s.name, max(1, s.concurrency), o.warmup, o.duration)
		r := run(ctx, s, o)
		judge(s, &r, prior)
		prior[s.name] = r
		results = append(results, r)
	}
	printReport(os.Stdout, o, b.hashParams, results)

	code := 0
	for _, r := range results {
		if r.errors > 0 {
			code = 1
		}
	}
	if ctx.Err() != nil {
		code = 130
	}
	return code, nil
}

// envInt is the integer in the environment variable, or def.
func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return n
	}
	return def
}

// startBench starts an isolated platform with the production hash cost and
// login limits out of the way, and connects o.conns clients to it.
func startBench(ctx context.Context, o options) (*bench, func(), error) {
	in, err := harness.InfraFromEnv()
	if err != nil {
		return nil, nil, err
	}
	findServices(in)
	sctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	env, err := harness.Start(sctx, in, func(c *config.Config) {
		c.PasswordHash = productionHash
		// The bench logs in and registers over and over from one address
		// and account.
		c.LoginLimitPerAccount = 1 << 30
		c.LoginLimitPerAddress = 1 << 30
		c.RegisterLimitPerAddress = 1 << 30
		// CreateEntity fills one session per caller for as long as it runs.
		c.Quotas.EntitiesPerSession = 1_000_000
		c.Quotas.EntityBytesPerSession = 1 << 40
	})
	if err != nil {
		return nil, nil, fmt.Errorf("start platform: %w", err)
	}
	b := &bench{opts: o, env: env, hashParams: env.Cfg.PasswordHash, runID: harness.RandomID(3)}
	var conns []*grpc.ClientConn
	cleanup := func() {
		for i := len(b.closers) - 1; i >= 0; i-- {
			b.closers[i]()
		}
		for _, c := range conns {
			_ = c.Close()
		}
		env.Stop()
	}
	b.clients = append(b.clients, authpb.NewAuthServiceClient(env.Conn))
	b.conns = append(b.conns, env.Conn)
	for len(b.clients) < o.conns {
		c, err := grpc.NewClient(env.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			cleanup()
			return nil, nil, err
		}
		conns = append(conns, c)
		b.conns = append(b.conns, c)
		b.clients = append(b.clients, authpb.NewAuthServiceClient(c))
	}
	return b, cleanup, nil
}
