package platform

import (
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"

	"github.com/oof-gg/platform/pkg/config"
	"github.com/oof-gg/platform/pkg/grpcx"
	"github.com/oof-gg/platform/pkg/middleware"
)

// NewBareServer builds a gRPC server through the same code path as every
// target's server (interceptor chain, server options, health, reflection)
// that serves only what register adds, every method of it callable without a
// token. It exists for oofbench: an empty method on it is the floor that a
// platform RPC is measured against, so the two must share everything but the
// handler.
func NewBareServer(cfg config.Config, log *slog.Logger, register func(*grpcx.Services)) (*grpc.Server, error) {
	// No Redis: with every method public the validator, the only user of
	// the refresh store's Redis, is never asked.
	sec, err := newSecurity(cfg, nil)
	if err != nil {
		return nil, err
	}
	p := &Platform{cfg: cfg, log: log, registry: prometheus.NewRegistry(), services: grpcx.NewServices()}
	register(p.services)
	return p.newServer(sec, append(middleware.PublicMethods(), p.services.FullMethods()...)), nil
}
