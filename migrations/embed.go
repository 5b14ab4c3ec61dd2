// Package migrations holds the PostgreSQL schema as goose SQL migrations,
// embedded so the binary can migrate a database by itself (-target=migrate).
package migrations

import "embed"

// FS is the migration files. (embed needs a package-level variable.)
//
//go:embed *.sql
var FS embed.FS
