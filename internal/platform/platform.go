package platform

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"

	"github.com/oof-gg/platform/command/kit"
	"github.com/oof-gg/platform/pkg/config"
	"github.com/oof-gg/platform/pkg/cors"
	"github.com/oof-gg/platform/pkg/grpcx"
	"github.com/oof-gg/platform/pkg/idempotency"
	"github.com/oof-gg/platform/pkg/middleware"
	"github.com/oof-gg/platform/pkg/outbox"
	"github.com/oof-gg/platform/pkg/personal"
	"github.com/oof-gg/platform/pkg/projection"
	"github.com/oof-gg/platform/pkg/routing"
	"github.com/oof-gg/platform/pkg/tracing"
)

// Platform is one running target of the oof binary.
type Platform struct {
	cfg      config.Config
	target   routing.Target
	log      *slog.Logger
	infra    *infra
	registry *prometheus.Registry
	server   *grpc.Server
	health   *health.Server
	services *grpcx.Services
	// waiter is the command side's read-your-writes waiter, when this
	// target runs commands; projectors in the same process feed it.
	waiter *projection.Waiter
	// outbox is the process's one outbox and relay, once built.
	outbox *outbox.Outbox
	// readyDeps is what ready checks (see needs.go).
	readyDeps  deps
	readyGauge prometheus.Gauge
	// workers run beside the server: projectors, the projection listener.
	workers []func(context.Context) error
	// streams re-checks the tokens of open streams; RecheckNow on it is the
	// hook for revocation notices.
	streams *middleware.StreamGuard
	extra   []func(*grpcx.Services)
	// cmdDeps are the command handlers' collaborators when this target
	// runs commands (the matchmaker in the same process shares them).
	cmdDeps *kit.Deps
	// origins may call over gRPC-Web.
	origins *cors.Policy
	// keys opens sealed personal fields for the projectors (personalKeys);
	// keysPool, when set, is the database holding them (WithPersonalKeys).
	keys     *personal.Keys
	keysPool *pgxpool.Pool
	// httpRoutes are more HTTP handlers on the gRPC port (the WebSocket
	// gateway, wire_ws.go).
	httpRoutes []grpcx.ServeOption
	// tracer makes the spans of this target; nil while tracing is off
	// (no OTLP endpoint configured), and then nothing is traced.
	tracer *tracing.Tracer
}

// Option adjusts a Platform at Build.
type Option func(*Platform)

// WithServices registers more implementations on the target's server, behind
// the same interceptors as the contract's (tests use it for services the
// contract does not have yet, such as a streaming one).
func WithServices(register func(*grpcx.Services)) Option {
	return func(p *Platform) { p.extra = append(p.extra, register) }
}

// WithPersonalKeys makes the projectors read the personal-data keys
// (docs/events.md, "Personal data") from pool instead of the target's own
// database: for projectors building into another database than the one the
// commands write (the tests' read-model replay), where the keys are not.
func WithPersonalKeys(pool *pgxpool.Pool) Option {
	return func(p *Platform) { p.keysPool = pool }
}

// Build connects what target needs (needs.go) and assembles its components.
func Build(ctx context.Context, cfg config.Config, target routing.Target, log *slog.Logger, opts ...Option) (*Platform, error) {
	p := &Platform{cfg: cfg, target: target, log: log.With("target", string(target)),
		infra: &infra{}, registry: prometheus.NewRegistry(), services: grpcx.NewServices()}
	for _, o := range opts {
		o(p)
	}
	p.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	p.readyGauge = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "oof_ready", Help: "1 while every dependency this target needs answers (what /readyz and gRPC health say), else 0.",
	})
	p.registry.MustRegister(p.readyGauge)
	if err := p.build(ctx); err != nil {
		p.infra.close()
		p.stopTracing()
		return nil, err
	}
	return p, nil
}

func (p *Platform) runs(t routing.Target) bool { return p.target == routing.TargetAll || p.target == t }

func (p *Platform) build(ctx context.Context) error {
	n, err := needsOf(p.target)
	if err != nil {
		return err
	}
	p.readyDeps = n.ready
	if p.origins, err = cors.Parse(p.cfg.CORSAllowedOrigins); err != nil {
		return err
	}
	if err := p.startTracing(ctx); err != nil {
		return err
	}
	if err := p.infra.connect(ctx, p.cfg, n.connect, "oof-"+string(p.target)); err != nil {
		return fmt.Errorf("-target=%s cannot start: %w", p.target, err)
	}
	sec, err := newSecurity(p.cfg, p.infra.rdb)
	if err != nil {
		return err
	}
	if p.runs(routing.TargetCommand) {
		if err := p.buildCommand(ctx, sec); err != nil {
			return err
		}
	}
	if p.runs(routing.TargetQuery) {
		p.buildQuery(sec)
	}
	if p.runs(routing.TargetStream) {
		if err := p.buildStream(ctx, sec); err != nil {
			return err
		}
	}
	if p.runs(routing.TargetProjector) {
		if err := p.buildProjectors(); err != nil {
			return err
		}
	}
	if p.runs(routing.TargetMatchmaker) {
		if err := p.buildMatchmaker(ctx); err != nil {
			return err
		}
	}
	for _, register := range p.extra {
		register(p.services)
	}
	p.mountWholeContract()
	p.server = p.newServer(sec, middleware.PublicMethods())
	return nil
}

// newServer builds the gRPC server of a target: every target's calls pass
// the same interceptors, in the same order, whatever it serves.
func (p *Platform) newServer(sec *security, public []string) *grpc.Server {
	recoverU, recoverS := middleware.Recover(p.log)
	metricsU, metricsS := middleware.NewMetrics(p.registry).Interceptors()
	logU, logS := middleware.AccessLog(p.log)
	mapU, mapS := middleware.MapErrors(p.log)
	spanU, spanS, traceU, traceS := p.callTracing()
	utf8U, utf8S := middleware.RejectInvalidUTF8()
	authn := middleware.NewAuthenticator(sec.validator, public)
	if p.streams == nil { // the WebSocket gateway may have made it already
		p.streams = middleware.NewStreamGuard(sec.validator, p.cfg.StreamAuthRecheck)
	}
	srv := grpc.NewServer(
		// Requests with strings that are not UTF-8 reach utf8U (and answer
		// INVALID_ARGUMENT) instead of failing in gRPC's decoder as INTERNAL.
		grpc.ForceServerCodecV2(grpcx.Codec{}),
		// Recovery runs inside the metrics and the access log, so a panic
		// is counted and logged as the INTERNAL it answers. Streams pass the
		// same chain; after authentication the guard keeps re-checking the
		// caller's token while the stream is open (docs/architecture.md).
		// span and trace: see callTracing (one of them is nil).
		grpc.ChainUnaryInterceptor(unaries(metricsU, spanU, logU, recoverU, mapU, utf8U, traceU, authn.Unary(),
			idempotency.UnaryInterceptor())...),
		grpc.ChainStreamInterceptor(streams(metricsS, spanS, logS, recoverS, mapS, utf8S, traceS, authn.Stream(),
			p.streams.Stream())...),
		grpc.MaxRecvMsgSize(1<<20),
		// Reusing worker goroutines saves the stack growth a fresh goroutine
		// pays per call (measured: ValidateToken +25% throughput). The pool
		// must cover the usual number of concurrent calls to matter.
		grpc.NumStreamWorkers(uint32(64*runtime.GOMAXPROCS(0))),
	)
	p.services.RegisterOn(srv)
	p.health = health.NewServer()
	healthpb.RegisterHealthServer(srv, p.health)
	reflection.Register(srv)
	return srv
}

// Methods lists the public RPCs this platform serves (for checks and docs).
func (p *Platform) Methods() []string { return p.services.FullMethods() }

// Run serves until ctx ends, then shuts down gracefully: it stops taking
// calls, drains in-flight ones, stops the workers and closes connections.
func (p *Platform) Run(ctx context.Context, grpcLis, adminLis net.Listener) error {
	defer p.infra.close()
	g, gctx := errgroup.WithContext(ctx)
	for _, w := range p.workers {
		g.Go(func() error { return w(gctx) })
	}
	// NOT_SERVING until the first readiness check has passed.
	p.setServing(false)
	g.Go(func() error { p.followReadiness(gctx); return nil })
	g.Go(func() error { return p.serveAdmin(gctx, adminLis) })
	g.Go(func() error {
		return grpcx.Serve(gctx, grpcLis, p.server, 10*time.Second, p.log,
			append([]grpcx.ServeOption{grpcx.WithOrigins(p.origins)}, p.httpRoutes...)...)
	})
	p.log.Info("platform running", "grpc", grpcLis.Addr().String(), "admin", adminLis.Addr().String())
	<-gctx.Done()
	p.health.Shutdown()
	err := g.Wait()
	p.stopTracing()
	if err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("platform: %w", err)
	}
	p.log.Info("platform stopped")
	return nil
}
