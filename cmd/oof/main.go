// Command oof is the whole oof.gg platform in one binary. -target picks what
// runs: all (everything in one process, the local default), command, query,
// projector (what compose.yaml deploys behind Envoy), or migrate (apply the
// schema and create topics, then exit).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/oof-gg/platform/internal/platform"
	"github.com/oof-gg/platform/pkg/config"
	"github.com/oof-gg/platform/pkg/routing"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "oof:", err)
		os.Exit(1)
	}
}

func run() error {
	target := flag.String("target", "all", "what to run: all, command, query, projector, migrate")
	healthURL := flag.String("healthcheck", "", "GET this URL and exit 0 if it answers 200 (for container health checks)")
	rebuild := flag.String("rebuild", "", "with -target=projector or all: empty this projector's read model and replay its topics from the start")
	flag.Parse()
	if *healthURL != "" {
		return healthcheck(*healthURL)
	}

	cfg, err := config.Load(os.Getenv)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	log := newLogger(cfg.LogLevel)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	t := routing.Target(*target)
	switch t {
	case "migrate":
		return platform.Prepare(ctx, cfg, log)
	case routing.TargetAll:
		// The local all-in-one process prepares its own schema and topics.
		if err := platform.Prepare(ctx, cfg, log); err != nil {
			return err
		}
	case routing.TargetCommand, routing.TargetQuery, routing.TargetProjector:
	default:
		return fmt.Errorf("unknown -target %q", *target)
	}
	if *rebuild != "" {
		if err := platform.Rebuild(ctx, cfg, *rebuild, log); err != nil {
			return err
		}
	}
	p, err := platform.Build(ctx, cfg, t, log)
	if err != nil {
		return err
	}
	grpcLis, err := net.Listen("tcp", cfg.GRPCAddr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", cfg.GRPCAddr, err)
	}
	adminLis, err := net.Listen("tcp", cfg.AdminAddr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", cfg.AdminAddr, err)
	}
	return p.Run(ctx, grpcLis, adminLis)
}

func newLogger(level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}

func healthcheck(url string) error {
	c := &http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return errors.New(resp.Status)
	}
	return nil
}
