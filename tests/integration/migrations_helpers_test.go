package integration

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/oof-gg/platform/migrations"
)

// migratingDB is a database of its own, migrated up to version before, for
// a test that puts rows in place and then runs the migration under test
// (provider.UpTo). Both close when the test ends.
func migratingDB(t *testing.T, ctx context.Context, name string, before int64) (*pgxpool.Pool, *goose.Provider) {
	t.Helper()
	url, err := env.CreateDatabase(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	sqlDB := stdlib.OpenDBFromPool(pool)
	t.Cleanup(func() { _ = sqlDB.Close() })
	provider, err := goose.NewProvider(goose.DialectPostgres, sqlDB, migrations.FS)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := provider.UpTo(ctx, before); err != nil {
		t.Fatal(err)
	}
	return pool, provider
}
