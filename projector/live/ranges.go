package live

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"

	eventspb "github.com/oof-gg/platform/api/gen/oof/events/v1"
	"github.com/oof-gg/platform/pkg/projection"
)

// WithRanges makes the projector record, per session, where its live
// events are on the topic (live_event_ranges), for match replay
// (docs/operations.md). One statement per batch keeps the hot path at one
// PostgreSQL round trip.
func (p *Projector) WithRanges(pool *pgxpool.Pool) *Projector {
	p.ranges = pool
	return p
}

// recordRanges upserts the batch's per-session ranges. It is idempotent,
// which the runner needs of ApplyDirect (a crash before the offset store
// moved delivers the batch again): first/last only widen, and the count
// adds only offsets above the stored last (a session's records share one
// partition, so its offsets only grow).
func (p *Projector) recordRanges(ctx context.Context, events []projection.Event) error {
	if p.ranges == nil {
		return nil
	}
	var sessions, topics []string
	var parts []int32
	var offsets []int64
	var times []any
	for _, ev := range events {
		le, ok := ev.Msg.(*eventspb.LiveEvent)
		if !ok {
			continue
		}
		sessions = append(sessions, le.GetEvent().GetSessionId())
		topics = append(topics, ev.Env.Topic)
		parts = append(parts, ev.Env.Partition)
		offsets = append(offsets, ev.Env.Offset)
		times = append(times, ev.Env.Time)
	}
	if len(sessions) == 0 {
		return nil
	}
	_, err := p.ranges.Exec(ctx, `
WITH b AS (
	SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::bigint[], $5::timestamptz[]) AS t(sid, topic, part, off, at)
), agg AS (
	SELECT b.sid, min(b.topic) AS topic, min(b.part) AS part, min(b.off) AS f, max(b.off) AS l,
		count(*) FILTER (WHERE r.last_offset IS NULL OR b.off > r.last_offset) AS n, min(b.at) AS fa, max(b.at) AS la
	FROM b LEFT JOIN live_event_ranges r ON r.session_id = b.sid
	GROUP BY b.sid
)
INSERT INTO live_event_ranges AS r (session_id, kafka_topic, kafka_partition, first_offset, last_offset, event_count, first_at, last_at)
SELECT sid, topic, part, f, l, n, fa, la FROM agg
ON CONFLICT (session_id) DO UPDATE SET
	first_offset = least(r.first_offset, excluded.first_offset),
	last_offset = greatest(r.last_offset, excluded.last_offset),
	event_count = r.event_count + excluded.event_count,
	first_at = least(r.first_at, excluded.first_at),
	last_at = greatest(r.last_at, excluded.last_at)`,
		sessions, topics, parts, offsets, times)
	if err != nil {
		return fmt.Errorf("live event ranges: %w", err)
	}
	return nil
}
