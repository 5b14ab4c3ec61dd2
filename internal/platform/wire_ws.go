package platform

import (
	"context"

	commandlive "github.com/oof-gg/platform/command/live"
	"github.com/oof-gg/platform/pkg/grpcx"
	"github.com/oof-gg/platform/pkg/middleware"
	querylive "github.com/oof-gg/platform/query/live"
	"github.com/oof-gg/platform/query/livews"
)

// mountWebSocket serves the web SDK's WebSocket protocol (query/livews) at
// /ws on the gRPC port, over the same command and hub as the gRPC streams.
// Sockets share the gRPC streams' guard, so a revocation notice
// (RecheckNow) reaches both.
func (p *Platform) mountWebSocket(sec *security, hub *querylive.Hub, pub *commandlive.Publisher, hook querylive.ConnHook) {
	if p.streams == nil {
		p.streams = middleware.NewStreamGuard(sec.validator, p.cfg.StreamAuthRecheck)
	}
	gw := &livews.Gateway{Hub: hub, Publisher: pub, Hook: hook, Validator: sec.validator, Guard: p.streams,
		Origins: p.origins, Limits: livews.DefaultLimits(p.cfg.Live.MaxEventBytes), Metrics: livews.NewMetrics(p.registry),
		Log: p.log.With("component", "query/livews")}
	p.httpRoutes = append(p.httpRoutes, grpcx.WithHandler(livews.Path, gw))
	p.workers = append(p.workers, func(ctx context.Context) error {
		<-ctx.Done()
		gw.Close()
		return nil
	})
}
