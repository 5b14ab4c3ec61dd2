package db

import "github.com/jackc/pgx/v5"

// Step is one statement sent in a pipeline with others (one round trip for
// all), with what to do with its result.
type Step struct {
	SQL  string
	Args []any
	// Scan reads the statement's one result row; nil means it returns none.
	// A step that refuses must make its statement fail in PostgreSQL (e.g.
	// 1/count(*) over what it changed), never refuse in Scan: the COMMIT
	// goes in the same pipeline and would still pass.
	Scan func(pgx.Row) error
	// Fail turns the statement's error into the caller's (nil: as is).
	Fail func(error) error
}
