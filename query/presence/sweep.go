package presence

import (
	"context"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Run sweeps expired conns every third of the TTL until ctx ends, and
// announces the users whose last conn expired. Every stream-target
// instance sweeps; the script hands each expired conn to one of them.
func (t *Tracker) Run(ctx context.Context) error {
	tick := time.NewTicker(max(t.ttl/3, 10*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			if err := t.Sweep(ctx); err != nil && ctx.Err() == nil {
				t.log.Warn("presence sweep failed", "err", err)
			}
		}
	}
}

// Sweep removes the conns past their expiry, in the sessions due.
func (t *Tracker) Sweep(ctx context.Context) error {
	now, err := t.rdb.Time(ctx).Result()
	if err != nil {
		return err
	}
	ms := strconv.FormatInt(now.UnixMilli(), 10)
	due, err := t.rdb.ZRangeByScore(ctx, t.key("sessions"), &redis.ZRangeBy{Min: "-inf", Max: ms, Count: 500}).Result()
	if err != nil {
		return err
	}
	for _, sessionID := range due {
		res, err := sweepScript.Run(ctx, t.rdb,
			[]string{t.key(sessionID), t.key(sessionID, "seq"), t.key("sessions")}, sessionID, t.ttlMS()).Slice()
		if err != nil {
			return err
		}
		for i := 0; i+1 < len(res); i += 2 {
			user, _ := res[i].(string)
			seq, _ := res[i+1].(int64)
			t.announce(ctx, Left, sessionID, user, seq)
		}
	}
	return t.rdb.ZRemRangeByScore(ctx, t.key("online"), "-inf", ms).Err()
}

// Online reports which of users have an open conn (or one not yet
// expired).
func (t *Tracker) Online(ctx context.Context, users ...string) (map[string]bool, error) {
	out := map[string]bool{}
	if len(users) == 0 {
		return out, nil
	}
	now, err := t.rdb.Time(ctx).Result()
	if err != nil {
		return nil, err
	}
	scores, err := t.rdb.ZMScore(ctx, t.key("online"), users...).Result()
	if err != nil {
		return nil, err
	}
	for i, u := range users {
		out[u] = scores[i] > float64(now.UnixMilli())
	}
	return out, nil
}

// KeepOnline marks userID online while a conn that is not in a session (a
// GlobalService stream) is open: it heartbeats like a session conn until
// the returned stop is called, then the mark expires after the TTL.
func (t *Tracker) KeepOnline(ctx context.Context, userID string) (stop func()) {
	if userID == "" {
		return func() {}
	}
	mark := func() {
		bctx, cancel := context.WithTimeout(context.Background(), t.ttl)
		defer cancel()
		if err := onlineScript.Run(bctx, t.rdb, []string{t.key("online")}, userID, t.ttlMS()).Err(); err != nil {
			t.log.Warn("presence: marking online failed", "err", err)
		}
	}
	mark()
	hctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(max(t.ttl/3, 10*time.Millisecond))
		defer tick.Stop()
		for {
			select {
			case <-hctx.Done():
				return
			case <-tick.C:
				mark()
			}
		}
	}()
	return func() { cancel(); <-done }
}
