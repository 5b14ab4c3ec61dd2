package platform

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

const (
	// readinessInterval is how often the gRPC health status is refreshed.
	readinessInterval = time.Second
	// readinessTimeout bounds one readiness check. A dependency that does
	// not answer within it counts as down: Envoy's own check gives up
	// after 1 s, and a hung check must not keep the status stale for long.
	readinessTimeout = 2 * time.Second
)

// ready reports whether every dependency the target needs to work (needs.go)
// answers; the error names each one that does not. /readyz and the gRPC
// health service both follow it, so they always agree.
func (p *Platform) ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, readinessTimeout)
	defer cancel()
	var checks []func(context.Context) error
	if p.readyDeps.postgres {
		checks = append(checks, p.postgresAnswers)
	}
	if p.readyDeps.redis {
		checks = append(checks, p.redisAnswers)
	}
	if p.readyDeps.kafka {
		checks = append(checks, p.kafkaAnswers)
	}
	// In parallel, so one hung dependency does not hide the state of the
	// others behind the shared deadline.
	errs := make([]error, len(checks))
	var wg sync.WaitGroup
	for i, check := range checks {
		wg.Go(func() { errs[i] = check(ctx) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (p *Platform) postgresAnswers(ctx context.Context) error {
	if err := p.infra.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	return nil
}

func (p *Platform) redisAnswers(ctx context.Context) error {
	if err := p.infra.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	return nil
}

// kafkaAnswers checks that some broker accepts connections. sarama's own
// calls cannot be bounded by a context (a metadata refresh against a dead
// cluster retries for many seconds), so a check that must end at its
// deadline dials the brokers itself.
func (p *Platform) kafkaAnswers(ctx context.Context) error {
	if p.infra.kafka.Closed() {
		return errors.New("kafka: client closed")
	}
	addrs := append([]string(nil), p.cfg.KafkaBrokers...)
	for _, b := range p.infra.kafka.Brokers() { // the brokers the cluster advertised
		addrs = append(addrs, b.Addr())
	}
	var d net.Dialer
	var lastErr error
	for _, addr := range addrs {
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			_ = conn.Close()
			return nil
		}
		lastErr = err
	}
	return fmt.Errorf("kafka: no broker reachable: %w", lastErr)
}

// followReadiness keeps the gRPC health service in step with ready until ctx
// ends: the overall "" service and every registered service are SERVING
// while ready passes, NOT_SERVING otherwise. Envoy routes by that status.
func (p *Platform) followReadiness(ctx context.Context) {
	tick := time.NewTicker(readinessInterval)
	defer tick.Stop()
	known, serving := false, false
	for {
		err := p.ready(ctx)
		if ctx.Err() != nil {
			return // shutting down: Run marks everything NOT_SERVING
		}
		now := err == nil
		p.setServing(now)
		if !known || now != serving {
			if now {
				p.log.Info("ready: serving")
			} else {
				p.log.Warn("not ready: not serving", "err", err)
			}
			known, serving = true, now
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// setServing sets the health status of the whole server and of each of its
// services (after Shutdown the health server ignores this).
func (p *Platform) setServing(serving bool) {
	status, gauge := healthpb.HealthCheckResponse_NOT_SERVING, 0.0
	if serving {
		status, gauge = healthpb.HealthCheckResponse_SERVING, 1
	}
	p.health.SetServingStatus("", status)
	for _, name := range p.services.ServiceNames() {
		p.health.SetServingStatus(name, status)
	}
	p.readyGauge.Set(gauge)
}
