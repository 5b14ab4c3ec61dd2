// Package db opens the PostgreSQL pool and applies the embedded goose
// migrations.
package db

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/oof-gg/platform/migrations"
)

// Connect opens a pool and checks the server answers within timeout.
func Connect(ctx context.Context, url string, timeout time.Duration, opts ...Option) (*pgxpool.Pool, error) {
	return ConnectSized(ctx, url, 32, timeout, opts...)
}

// Option adjusts a pool's config before it opens.
type Option func(*pgxpool.Config)

// WithTracer makes t trace the pool's statements (pkg/tracing); a nil t
// leaves the pool untraced.
func WithTracer(t pgx.QueryTracer) Option {
	return func(c *pgxpool.Config) { c.ConnConfig.Tracer = t }
}

// ConnectSized is Connect with at least minMax connections (unless the URL
// asks for more): a component whose waits must not queue behind others'
// (the outbox relay) gets a small pool of its own.
func ConnectSized(ctx context.Context, url string, minMax int32, timeout time.Duration, opts ...Option) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse postgres url: %w", err)
	}
	// pgxpool's default (4 on this machine) would make concurrent calls
	// queue for a connection long before PostgreSQL is busy.
	if cfg.MaxConns < minMax {
		cfg.MaxConns = minMax
	}
	cfg.ConnConfig.ConnectTimeout = 3 * time.Second
	for _, o := range opts {
		o(cfg)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open postgres pool: %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := pool.Ping(pctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres %s:%d: %w", cfg.ConnConfig.Host, cfg.ConnConfig.Port, err)
	}
	return pool, nil
}

// Migrate applies every pending migration.
func Migrate(ctx context.Context, pool *pgxpool.Pool, log *slog.Logger) error {
	sqlDB := stdlib.OpenDBFromPool(pool)
	defer sqlDB.Close()
	return migrateDB(ctx, sqlDB, log)
}

func migrateDB(ctx context.Context, sqlDB *sql.DB, log *slog.Logger) error {
	// The session lock lets several processes start at once safely.
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return fmt.Errorf("goose locker: %w", err)
	}
	provider, err := goose.NewProvider(goose.DialectPostgres, sqlDB, migrations.FS, goose.WithSessionLocker(locker))
	if err != nil {
		return fmt.Errorf("goose provider: %w", err)
	}
	results, err := provider.Up(ctx)
	if err != nil {
		return fmt.Errorf("apply migrations: %w", err)
	}
	for _, r := range results {
		log.Info("migration applied", "source", r.Source.Path, "duration", r.Duration)
	}
	return nil
}
