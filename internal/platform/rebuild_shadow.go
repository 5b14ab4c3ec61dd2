package platform

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/oof-gg/platform/pkg/config"
	"github.com/oof-gg/platform/pkg/projection"
)

// shadow is a projector's rebuild schema: a copy of its read-model tables
// plus its own projector_offsets and projector_seen_events, which the
// projector's unqualified SQL reaches first through the search_path.
type shadow struct {
	schema  string   // rebuild_<projector>
	live    string   // the schema the live tables are in
	tables  []string // the projector's read-model tables
	resumed bool
}

// bookkeeping are the runner's own tables, shadowed so the rebuild's
// offsets and deduplication never touch the live projector's.
var bookkeeping = []string{"projector_offsets", "projector_seen_events"}

// prepareShadow finds the projector's tables and creates the shadow schema,
// or finds the one an interrupted run left (created in one transaction, so
// it is complete if it exists) and resumes it.
func prepareShadow(ctx context.Context, pool *pgxpool.Pool, proj projection.Projector, restart bool) (*shadow, error) {
	s := &shadow{schema: "rebuild_" + strings.ReplaceAll(proj.Name(), "-", "_")}
	var err error
	if s.live, s.tables, err = resetTables(ctx, pool, proj); err != nil {
		return nil, err
	}
	if len(s.tables) == 0 {
		return nil, errors.New("its Reset empties no table: nothing to rebuild")
	}
	if restart {
		if _, err := pool.Exec(ctx, `DROP SCHEMA IF EXISTS `+ident(s.schema)+` CASCADE`); err != nil {
			return nil, err
		}
	}
	if err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)`, s.schema).Scan(&s.resumed); err != nil {
		return nil, err
	}
	if s.resumed {
		return s, nil
	}
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `CREATE SCHEMA `+ident(s.schema)); err != nil {
			return err
		}
		for _, t := range s.allTables() {
			q := fmt.Sprintf(`CREATE UNLOGGED TABLE %s (LIKE %s INCLUDING ALL)`, ident(s.schema, t), ident(s.live, t))
			if _, err := tx.Exec(ctx, q); err != nil {
				return err
			}
			if err := s.dropDeferredIndexes(ctx, tx, t); err != nil {
				return err
			}
		}
		return nil
	})
	return s, err
}

// allTables are the shadow's tables: the read model's and the bookkeeping.
func (s *shadow) allTables() []string {
	return append(append([]string{}, s.tables...), bookkeeping...)
}

// resetTables learns which tables the projector owns by running its Reset
// in a transaction that is rolled back, and asking which tables that
// transaction locked exclusively (TRUNCATE): no list to keep in step with
// the projectors. It briefly takes those locks on the live tables.
func resetTables(ctx context.Context, pool *pgxpool.Pool, proj projection.Projector) (string, []string, error) {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return "", nil, err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	var live string
	if _, err := tx.Exec(ctx, `SET LOCAL lock_timeout = '10s'`); err != nil {
		return "", nil, err
	}
	if err := tx.QueryRow(ctx, `SELECT current_schema()`).Scan(&live); err != nil {
		return "", nil, err
	}
	if err := proj.Reset(ctx, tx); err != nil {
		return "", nil, fmt.Errorf("reset (rolled back): %w", err)
	}
	rows, err := tx.Query(ctx, `SELECT c.relname FROM pg_locks l
		JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE l.pid = pg_backend_pid() AND l.mode = 'AccessExclusiveLock' AND c.relkind = 'r' AND n.nspname = $1
		ORDER BY c.relname`, live)
	if err != nil {
		return "", nil, err
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return live, tables, err
}

// connect opens the pool the shadow runner applies through: every
// connection resolves unqualified names in the shadow schema first.
func (s *shadow) connect(ctx context.Context, cfg config.Config) (*pgxpool.Pool, error) {
	pc, err := pgxpool.ParseConfig(cfg.PostgresURL)
	if err != nil {
		return nil, err
	}
	pc.ConnConfig.RuntimeParams["search_path"] = ident(s.schema) + ", " + ident(s.live)
	pc.MaxConns = 4
	return pgxpool.NewWithConfig(ctx, pc)
}

// swap stops the live projector at its stored offsets (their rows locked
// in the swap transaction), applies what the shadow still lacks, and then,
// in that transaction, replaces the live tables with the shadow's, moves
// the offsets forward and drops the shadow. It returns each table's
// checksums, taken in the transaction before the swap.
func (s *shadow) swap(ctx context.Context, pool *pgxpool.Pool, proj projection.Projector, b *builder) ([]TableSum, error) {
	var err error
	for attempt := 0; attempt < 10; attempt++ {
		var sums []TableSum
		if sums, err = s.swapOnce(ctx, pool, proj, b); err == nil {
			return sums, nil
		}
		if !isRetryableSwap(err) || ctx.Err() != nil {
			return nil, err
		}
	}
	return nil, fmt.Errorf("swap kept losing races with the live projector: %w", err)
}

func (s *shadow) swapOnce(ctx context.Context, pool *pgxpool.Pool, proj projection.Projector, b *builder) ([]TableSum, error) {
	name := proj.Name()
	tx, live, err := beginSwap(ctx, pool, name)
	if err != nil {
		return nil, err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	// The live projector now waits at its next batch: bring the shadow to
	// exactly where it stopped (outside this transaction; the shadow's
	// tables and offsets are not locked by it).
	if err := b.run(ctx, "swap", live); err != nil {
		return nil, err
	}
	for _, t := range s.tables {
		// Writes wait; reads go on until the DROP below.
		if _, err := tx.Exec(ctx, `LOCK TABLE `+ident(s.live, t)+` IN SHARE MODE`); err != nil {
			return nil, err
		}
	}
	// A partition the live projector had no row for is not locked above:
	// if it committed one meanwhile, start over.
	now, err := liveOffsets(ctx, tx, name, false)
	if err != nil {
		return nil, err
	}
	if len(now) != len(live) {
		return nil, errNewPartition
	}
	sums := make([]TableSum, len(s.tables))
	for i, t := range s.tables {
		sums[i].Table = t
		if sums[i].OldRows, sums[i].OldSum, err = checksum(ctx, tx, s.live, t); err != nil {
			return nil, err
		}
		if sums[i].NewRows, sums[i].NewSum, err = checksum(ctx, tx, s.schema, t); err != nil {
			return nil, err
		}
	}
	for _, t := range s.tables {
		if err := s.replaceTable(ctx, tx, t); err != nil {
			return nil, fmt.Errorf("swap %s: %w", t, err)
		}
	}
	if err := s.moveBookkeeping(ctx, tx, name); err != nil {
		return nil, err
	}
	if _, err := tx.Exec(ctx, `DROP SCHEMA `+ident(s.schema)+` CASCADE`); err != nil {
		return nil, err
	}
	if m, ok := proj.(projection.Mirrored); ok {
		if err := resync(ctx, tx, m); err != nil {
			return nil, err
		}
	}
	return sums, tx.Commit(ctx)
}

// resync copies the swapped-in tables (tx sees them under the live names)
// into the projector's Redis keys, last before the commit, while the live
// projector is held. It cannot race with the live projector writing Redis:
//
//   - A batch applies only after locking its offset row (locked here FOR
//     UPDATE) or, on a partition with no row yet, when its writes get past
//     the SHARE locks taken here: it waits for the commit, and so do the
//     Redis writes scores makes inside the batch (after inserting into
//     scores). A batch that held them first committed before this
//     transaction got its locks, Redis writes included. (entities marks
//     copies pending beside its first write, so a new partition's batch may
//     mark one meanwhile: a mark only sends readers to PostgreSQL, as no
//     copy does; Resync keeps it, and that batch's own copy clears it.)
//   - What is written after a batch's commit (AfterCommit, the Sync at
//     start) is not held by those locks. trending reads the scores it
//     copies and writes them in one transaction, holding game_trend until
//     its ZADD is done: the DROP above waited for any copy of the old
//     table, and a copy started since waits for the commit and reads the
//     new table (ZADD GT, and the new table's scores only grow). entities
//     copies the states its committed batches wrote, not a read of the
//     table, and never over a newer version: the new table holds each
//     entity at a version at least as high (it was caught up to the locked
//     offsets), with the same snapshot at the same version, so a late copy
//     changes nothing (or is followed by its own later delete).
//
// If the commit fails after this, Redis holds the copy of the rebuilt
// tables (what a replay defines as right) while the old ones stay; the
// rebuild reports the failure and running it again makes them agree.
func resync(ctx context.Context, tx pgx.Tx, m projection.Mirrored) error {
	if err := m.Resync(ctx, tx); err != nil {
		return fmt.Errorf("copy the new tables into Redis: %w", err)
	}
	return nil
}

// replaceTable drops the live table and moves the shadow's in its place,
// giving its indexes the live ones' names (LIKE generates its own), so
// later migrations find them.
func (s *shadow) replaceTable(ctx context.Context, tx pgx.Tx, t string) error {
	const indexes = `SELECT i.relname, (CASE WHEN x.indisunique THEN 'u ' ELSE '' END) || split_part(pg_get_indexdef(x.indexrelid), ' USING ', 2)
		FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
		WHERE x.indrelid = $1::regclass ORDER BY i.relname`
	names := map[string]string{}
	rows, err := tx.Query(ctx, indexes, ident(s.live, t))
	if err != nil {
		return err
	}
	for rows.Next() {
		var n, def string
		if err := rows.Scan(&n, &def); err != nil {
			rows.Close()
			return err
		}
		names[def] = n
	}
	rows.Close()
	if _, err := tx.Exec(ctx, `DROP TABLE `+ident(s.live, t)); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `ALTER TABLE `+ident(s.schema, t)+` SET SCHEMA `+ident(s.live)); err != nil {
		return err
	}
	rows, err = tx.Query(ctx, indexes, ident(s.live, t))
	if err != nil {
		return err
	}
	renames := map[string]string{}
	for rows.Next() {
		var n, def string
		if err := rows.Scan(&n, &def); err != nil {
			rows.Close()
			return err
		}
		if old, ok := names[def]; ok && old != n {
			renames[n] = old
		}
	}
	rows.Close()
	for n, old := range renames {
		if _, err := tx.Exec(ctx, `ALTER INDEX `+ident(s.live, n)+` RENAME TO `+ident(old)); err != nil {
			return err
		}
	}
	return nil
}

// moveBookkeeping gives the live projector the shadow's offsets (never
// moving one back), its deduplication memory, and the dead letters the
// rebuild opened (those the live projector does not have already).
func (s *shadow) moveBookkeeping(ctx context.Context, tx pgx.Tx, name string) error {
	rows, err := tx.Query(ctx, `INSERT INTO `+ident(s.live, "projector_offsets")+` (projector, topic, partition, next_offset)
		SELECT $1, topic, partition, next_offset FROM `+ident(s.schema, "projector_offsets")+` WHERE projector = $2
		ON CONFLICT (projector, topic, partition) DO UPDATE
			SET next_offset = GREATEST(EXCLUDED.next_offset, projector_offsets.next_offset), updated_at = now()
		RETURNING topic, partition, next_offset`, name, shadowName(name))
	if err != nil {
		return err
	}
	type moved struct {
		k    partitionKey
		next int64
	}
	var all []moved
	for rows.Next() {
		var m moved
		if err := rows.Scan(&m.k.topic, &m.k.partition, &m.next); err != nil {
			rows.Close()
			return err
		}
		all = append(all, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, m := range all {
		if err := projection.NotifyOffset(ctx, tx, name, m.k.topic, m.k.partition, m.next); err != nil {
			return err
		}
	}
	seen := ident(s.live, "projector_seen_events")
	stmts := []string{
		`DELETE FROM ` + seen + ` WHERE projector = $1`,
		`INSERT INTO ` + seen + ` (projector, event_id) SELECT projector, event_id FROM ` +
			ident(s.schema, "projector_seen_events") + ` WHERE projector = $1`,
		`DELETE FROM projector_dead_letters d WHERE d.projector = $2 AND EXISTS (SELECT 1 FROM projector_dead_letters l
			WHERE l.projector = $1 AND l.topic = d.topic AND l.partition = d.partition AND l."offset" = d."offset")`,
		`UPDATE projector_dead_letters SET projector = $1 WHERE projector = $2`,
	}
	for _, q := range stmts {
		args := []any{name}
		if strings.Contains(q, "$2") {
			args = append(args, shadowName(name))
		}
		if _, err := tx.Exec(ctx, q, args...); err != nil {
			return fmt.Errorf("move bookkeeping: %w", err)
		}
	}
	return nil
}

// checksum is a table's row count and a hash of its rows that does not
// depend on their order: the md5 of the sum of every row's 64-bit hash
// (hashtextextended of the row's text form; both tables are read in one
// transaction, so with the same settings). Unlike hashing the sorted rows
// it needs no sort and no table-sized string: the live projector waits for
// it in the swap.
func checksum(ctx context.Context, tx pgx.Tx, schema, table string) (int64, string, error) {
	var n int64
	var sum string
	err := tx.QueryRow(ctx, `SELECT count(*), md5(count(*) || ':' || coalesce(sum(hashtextextended(t::text, 0)), 0))
		FROM `+ident(schema, table)+` t`).Scan(&n, &sum)
	return n, sum, err
}

func ident(parts ...string) string { return pgx.Identifier(parts).Sanitize() }
