package platform

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// How a shadow is written fast and still ends up an ordinary table:
//
//   - Its tables are created UNLOGGED: the build writes each row and index
//     entry without writing it to the WAL as well.
//   - Its indexes that no lookup of the build needs (not unique, and not a
//     B-tree: a GIN index, expensive to keep up row by row and never what a
//     projector's point lookups use) are dropped from the shadow and
//     created once, in bulk, at the end.
//   - makeDurable then turns every shadow table into a logged one (which
//     rewrites it into the WAL once) and creates those indexes, in one
//     transaction, before the catch-up and the swap.
//
// If PostgreSQL crashes before makeDurable, it empties every unlogged
// table, the shadow's offsets with its rows, so the next run starts the
// shadow over consistently; after it, the tables are as safe as any.

// indexesOf lists a table's indexes: name, whether deferred (see above),
// and the definition after USING (which the swap also matches by).
const indexesOf = `SELECT i.relname, NOT x.indisunique AND am.amname <> 'btree',
		split_part(pg_get_indexdef(x.indexrelid), ' USING ', 2)
	FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_am am ON am.oid = i.relam
	WHERE x.indrelid = $1::regclass ORDER BY i.relname`

type tableIndex struct {
	name     string
	deferred bool
	def      string
}

func listIndexes(ctx context.Context, tx pgx.Tx, table string) ([]tableIndex, error) {
	rows, err := tx.Query(ctx, indexesOf, table)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (tableIndex, error) {
		var ix tableIndex
		err := r.Scan(&ix.name, &ix.deferred, &ix.def)
		return ix, err
	})
}

// dropDeferredIndexes removes from the new shadow table t the indexes
// makeDurable creates at the end.
func (s *shadow) dropDeferredIndexes(ctx context.Context, tx pgx.Tx, t string) error {
	ixs, err := listIndexes(ctx, tx, ident(s.schema, t))
	if err != nil {
		return err
	}
	for _, ix := range ixs {
		if ix.deferred {
			if _, err := tx.Exec(ctx, `DROP INDEX `+ident(s.schema, ix.name)); err != nil {
				return err
			}
		}
	}
	return nil
}

// makeDurable makes the built shadow logged and complete (see above). SET
// LOGGED of a table that already is, as after a resumed run, does nothing,
// and an index the shadow already has is not made twice.
func (s *shadow) makeDurable(ctx context.Context, pool *pgxpool.Pool) error {
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		for _, t := range s.allTables() {
			if _, err := tx.Exec(ctx, `ALTER TABLE `+ident(s.schema, t)+` SET LOGGED`); err != nil {
				return fmt.Errorf("make %s durable: %w", t, err)
			}
		}
		for _, t := range s.tables {
			if err := s.createDeferredIndexes(ctx, tx, t); err != nil {
				return fmt.Errorf("index %s: %w", t, err)
			}
		}
		return nil
	})
}

func (s *shadow) createDeferredIndexes(ctx context.Context, tx pgx.Tx, t string) error {
	live, err := listIndexes(ctx, tx, ident(s.live, t))
	if err != nil {
		return err
	}
	have, err := listIndexes(ctx, tx, ident(s.schema, t))
	if err != nil {
		return err
	}
	made := map[string]bool{}
	for _, ix := range have {
		made[ix.def] = true
	}
	for _, ix := range live {
		if made[ix.def] {
			continue
		}
		if _, err := tx.Exec(ctx, `CREATE INDEX ON `+ident(s.schema, t)+` USING `+ix.def); err != nil {
			return err
		}
	}
	return nil
}
