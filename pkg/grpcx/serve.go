package grpcx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/soheilhy/cmux"
	"google.golang.org/grpc"

	"github.com/oof-gg/platform/pkg/cors"
)

// ServeOption adjusts Serve.
type ServeOption func(*serveOptions)

type serveOptions struct {
	origins *cors.Policy
	routes  []route
}

type route struct {
	prefix string
	h      http.Handler
}

// WithHandler serves the HTTP/1.1 requests whose path is prefix or under
// prefix+"/" with h instead of the gRPC-Web translator (the WebSocket
// gateway: its upgrade is an HTTP/1.1 GET on the same port).
func WithHandler(prefix string, h http.Handler) ServeOption {
	return func(o *serveOptions) { o.routes = append(o.routes, route{prefix: prefix, h: h}) }
}

// WithOrigins sets the browser origins allowed to call over gRPC-Web
// (default: loopback pages only).
func WithOrigins(p *cors.Policy) ServeOption {
	return func(o *serveOptions) { o.origins = p }
}

// Serve runs srv on lis until ctx ends: native gRPC (HTTP/2) directly, and
// gRPC-Web (HTTP/1.1, for browsers) through a translating handler, on the
// same port. On shutdown it drains in-flight calls for up to grace. srv must
// have all its services registered: the gRPC-Web side serves those it finds
// now.
func Serve(ctx context.Context, lis net.Listener, srv *grpc.Server, grace time.Duration, log *slog.Logger, opts ...ServeOption) error {
	o := serveOptions{origins: cors.MustParse([]string{cors.Loopback})}
	for _, opt := range opts {
		opt(&o)
	}
	web, err := newWebHandler(srv, o.origins, log)
	if err != nil {
		return fmt.Errorf("gRPC-Web: %w", err)
	}
	mux := cmux.New(lis)
	httpL := mux.Match(cmux.HTTP1Fast())
	grpcL := mux.Match(cmux.Any())
	httpSrv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: routed(web, o.routes)}

	errc := make(chan error, 3)
	go func() { errc <- srv.Serve(grpcL) }()
	go func() { errc <- httpSrv.Serve(httpL) }()
	go func() { errc <- mux.Serve() }()
	log.Info("gRPC and gRPC-Web listening", "addr", lis.Addr().String())

	select {
	case <-ctx.Done():
	case err := <-errc:
		if err != nil && !isClosed(err) {
			return fmt.Errorf("serve: %w", err)
		}
	}
	stopped := make(chan struct{})
	go func() { srv.GracefulStop(); close(stopped) }()
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	_ = httpSrv.Shutdown(sctx)
	select {
	case <-stopped:
	case <-sctx.Done():
		srv.Stop()
	}
	mux.Close()
	return nil
}

func isClosed(err error) bool {
	return errors.Is(err, net.ErrClosed) || errors.Is(err, http.ErrServerClosed) ||
		errors.Is(err, grpc.ErrServerStopped) || errors.Is(err, cmux.ErrListenerClosed) ||
		errors.Is(err, cmux.ErrServerClosed)
}

// routed sends the requests of each route to its handler, the rest to web.
func routed(web http.Handler, routes []route) http.Handler {
	if len(routes) == 0 {
		return web
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, rt := range routes {
			if r.URL.Path == rt.prefix || strings.HasPrefix(r.URL.Path, rt.prefix+"/") {
				rt.h.ServeHTTP(w, r)
				return
			}
		}
		web.ServeHTTP(w, r)
	})
}
