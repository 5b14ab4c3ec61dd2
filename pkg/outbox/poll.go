package outbox

import (
	"context"
	"time"
)

// vacuumAfter is how many deleted outbox rows make the poll loop vacuum the
// table. The relay reads pending rows through an index that keeps an entry
// for every deleted row until a vacuum removes it; autovacuum looks at a
// table about once a minute, and a minute of deleted rows at a few thousand
// commands a second made each pass walk tens of thousands of dead entries
// (most of a pass's PostgreSQL time).
const vacuumAfter = 5000

// pollLoop finds rows no kick announced (another process committed them,
// or a crash left them) and reports the backlog; it also drops old marks.
func (r *Relay) pollLoop(ctx context.Context) {
	t := time.NewTicker(r.opts.Poll)
	defer t.Stop()
	lastPrune := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		backlog, err := r.backlog(ctx)
		if err != nil {
			continue
		}
		if backlog > 0 {
			r.Kick()
		}
		r.metrics.backlog.Set(float64(backlog))
		if r.deleted.Load() >= vacuumAfter {
			r.deleted.Store(0)
			// SKIP_LOCKED: another relay vacuuming is as good.
			if _, err := r.pool.Exec(ctx, `VACUUM (SKIP_LOCKED) event_outbox`); err != nil && ctx.Err() == nil {
				r.log.Warn("vacuum outbox", "err", err)
			}
		}
		if time.Since(lastPrune) > r.opts.KeepRelayed/4 {
			lastPrune = time.Now()
			if _, err := r.pool.Exec(ctx, `DELETE FROM event_outbox_relayed WHERE relayed_at < now() - $1::interval`,
				r.opts.KeepRelayed.String()); err != nil && ctx.Err() == nil {
				r.log.Warn("prune relayed outbox rows", "err", err)
			}
		}
	}
}

func (r *Relay) backlog(ctx context.Context) (int, error) {
	var n int
	err := r.pool.QueryRow(ctx, `SELECT count(*) FROM event_outbox WHERE published_at IS NULL`).Scan(&n)
	return n, err
}
