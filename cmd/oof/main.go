// Command oof is the whole oof.gg platform in one binary. -target picks what
// runs: all (everything in one process, the local default), command, query,
// projector (what compose.yaml deploys behind Envoy), or migrate (apply the
// schema and create topics, then exit). Operator subcommands come first
// on the command line: `oof deadletters list|retry` (deadletters.go), `oof
// admin create-user|grant-role`, `oof status`, `oof tail`, `oof schema`,
// `oof rebuild` (rebuild.go), `oof matches`, `oof match`, `oof replay` (docs/operations.md).
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
	"strings"
	"syscall"
	"time"

	"github.com/oof-gg/platform/internal/platform"
	"github.com/oof-gg/platform/pkg/config"
	"github.com/oof-gg/platform/pkg/routing"
)

func main() {
	err := run(os.Args[1:])
	var usage usageError
	var opsUsage cliUsageError
	switch {
	case err == nil:
	case errors.As(err, &usage), errors.As(err, &opsUsage):
		fmt.Fprintln(os.Stderr, "oof:", err)
		os.Exit(2)
	case errors.Is(err, errReported):
		os.Exit(1)
	default:
		fmt.Fprintln(os.Stderr, "oof:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	// A subcommand is a first argument that is not a flag, so every
	// `oof -target=...` command line means what it always meant.
	if len(args) > 0 && args[0] == "deadletters" {
		return deadLetters(args[1:], os.Stdout)
	}
	if len(args) > 0 && args[0] == "rebuild" {
		return rebuild(args[1:], os.Stdin, os.Stdout)
	}
	if len(args) > 0 {
		if sub, ok := opsSubcommands[args[0]]; ok {
			return sub(args[1:], os.Stdin, os.Stdout)
		}
	}
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		return fmt.Errorf("unknown subcommand %q (subcommands: deadletters, admin, status, tail, schema, rebuild, matches, match, replay; or flags: -target=...)", args[0])
	}
	target := flag.String("target", "all", "what to run: all, command, query, projector, stream, migrate")
	healthURL := flag.String("healthcheck", "", "GET this URL and exit 0 if it answers 200 (for container health checks)")
	rebuild := flag.String("rebuild", "", "with -target=projector or all: empty this projector's read model and replay its topics from the start")
	if err := flag.CommandLine.Parse(args); err != nil {
		return err
	}
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
	case routing.TargetCommand, routing.TargetQuery, routing.TargetProjector, routing.TargetStream:
	case routing.TargetMatchmaker:
	default:
		return fmt.Errorf("unknown -target %q", *target)
	}
	if *rebuild != "" {
		if err := platform.Rebuild(ctx, cfg, *rebuild, log); err != nil {
			return err
		}
	}
	platform.TuneGC()
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
