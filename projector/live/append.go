package live

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Entry is one record to append to a Redis stream: the event's id and
// encoding, at the stream id of its Kafka offset.
type Entry struct {
	Stream  string
	Offset  int64
	EventID string
	Body    []byte
}

// Append XADDs entries in one pipeline (capped at window, approximately,
// each stream expiring expiry after its last entry). Every entry goes in at
// EntryID(offset): one stream's records come from one partition, so ids
// only grow, and a record delivered again has an id not above the last,
// which Redis refuses — exactly-once in effect, no transaction needed. The
// live and the global projectors share it.
func Append(ctx context.Context, rdb *redis.Client, window int64, expiry time.Duration, entries []Entry) error {
	if len(entries) == 0 {
		return nil
	}
	pipe := rdb.Pipeline()
	adds := make([]*redis.StringCmd, 0, len(entries))
	for _, e := range entries {
		adds = append(adds, pipe.XAdd(ctx, &redis.XAddArgs{
			Stream: e.Stream, MaxLen: window, Approx: true, ID: EntryID(e.Offset),
			Values: []any{FieldID, e.EventID, FieldEvent, e.Body},
		}))
		pipe.PExpire(ctx, e.Stream, expiry)
	}
	_, _ = pipe.Exec(ctx)
	for _, c := range adds {
		if err := c.Err(); err != nil && !alreadyThere(err) {
			return fmt.Errorf("xadd: %w", err)
		}
	}
	return nil
}

// alreadyThere: XADD refuses an id not above the stream's last, which is
// how a record delivered again shows up.
func alreadyThere(err error) bool {
	return strings.Contains(err.Error(), "equal or smaller than the target stream top item")
}
