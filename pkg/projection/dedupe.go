package projection

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/oof-gg/platform/pkg/eventlog"
)

// FirstDelivery records that projector applies the event env in tx and
// reports whether it is the first time. The outbox relay delivers at least
// once (a relay that dies after Kafka acked sends the rows again, with the
// same CloudEvents id), so projectors whose changes are not idempotent by
// themselves (counters, sums) call it before applying. Projectors that
// carry state with a version guard need not.
func FirstDelivery(ctx context.Context, tx pgx.Tx, projector string, env eventlog.Envelope) (bool, error) {
	if env.ID == "" {
		return true, nil // records from before ids existed cannot repeat
	}
	tag, err := tx.Exec(ctx, `INSERT INTO projector_seen_events (projector, event_id) VALUES ($1, $2::uuid)
		ON CONFLICT DO NOTHING`, projector, env.ID)
	if err != nil {
		return false, fmt.Errorf("dedupe %s: %w", env.ID, err)
	}
	return tag.RowsAffected() == 1, nil
}
