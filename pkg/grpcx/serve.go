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

	"github.com/improbable-eng/grpc-web/go/grpcweb"
	"github.com/soheilhy/cmux"
	"google.golang.org/grpc"
)

// Serve runs srv on lis until ctx ends: native gRPC (HTTP/2) directly, and
// gRPC-Web (HTTP/1.1, for browsers) through a translating handler, on the
// same port. On shutdown it drains in-flight calls for up to grace.
func Serve(ctx context.Context, lis net.Listener, srv *grpc.Server, grace time.Duration, log *slog.Logger) error {
	mux := cmux.New(lis)
	httpL := mux.Match(cmux.HTTP1Fast())
	grpcL := mux.Match(cmux.Any())

	web := grpcweb.WrapServer(srv,
		grpcweb.WithOriginFunc(func(string) bool { return true }),
		grpcweb.WithAllowedRequestHeaders([]string{"*"}),
		grpcweb.WithWebsockets(false),
	)
	httpSrv := &http.Server{
		ReadHeaderTimeout: 10 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if web.IsGrpcWebRequest(r) || web.IsAcceptableGrpcCorsRequest(r) {
				web.ServeHTTP(w, r)
				return
			}
			if strings.HasPrefix(r.Header.Get("Content-Type"), "application/grpc") {
				http.Error(w, "native gRPC needs HTTP/2", http.StatusHTTPVersionNotSupported)
				return
			}
			http.NotFound(w, r)
		}),
	}

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
