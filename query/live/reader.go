package live

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
)

// shardSize is how many sessions one XREAD follows. One blocking XREAD per
// session cost a round trip (and a Redis wake-up) per event and session:
// the largest cost of the outbound path in the profile at thousands of
// events/s. One XREAD over many streams returns whatever arrived on any of
// them, so reads batch under load; the bound keeps each command (which
// Redis parses in full every time) small when an instance follows
// thousands of sessions.
const shardSize = 64

// shard is a group of rooms read by one XREAD BLOCK loop. Its fields are
// guarded by Hub.mu.
type shard struct {
	rooms   map[string]*room // by stream key
	running bool
	// wakeKey is a stream of this shard alone that every read also
	// follows: an entry added to it ends the read in flight, so that the
	// next one includes a room that just joined. (Cancelling the read's
	// context would not: go-redis does not watch it during a read.)
	wakeKey  string
	wakeLast string // the last entry of wakeKey seen
}

// place puts r in a shard with room to spare (or a new one) and starts the
// shard's reader; when the reader was already running, it returns the key
// to wake it with (wake), after h.mu is released. h.mu is held.
func (h *Hub) place(r *room) (wakeKey string) {
	var s *shard
	for _, c := range h.shards {
		if len(c.rooms) < shardSize {
			s = c
			break
		}
	}
	if s == nil {
		s = &shard{rooms: map[string]*room{}, wakeKey: h.prefix + "livehub:wake:" + uuid.NewString(), wakeLast: "0-0"}
		h.shards = append(h.shards, s)
	}
	s.rooms[r.key] = r
	r.shard = s
	if !s.running {
		s.running = true
		go h.read(s)
		return ""
	}
	return s.wakeKey
}

// wake ends the read in flight on wakeKey's shard.
func (h *Hub) wake(ctx context.Context, wakeKey string) {
	if wakeKey == "" {
		return
	}
	pipe := h.rdb.Pipeline()
	pipe.XAdd(ctx, &redis.XAddArgs{Stream: wakeKey, MaxLen: 1, Values: []any{"w", "1"}})
	pipe.PExpire(ctx, wakeKey, time.Minute)
	if _, err := pipe.Exec(ctx); err != nil {
		// The room is still read, from where it joined, once the read in
		// flight ends (within the block time).
		h.log.Warn("waking a live stream reader failed", "err", err)
	}
}

// unplace takes r out of its shard; an empty shard's reader ends after
// its read in flight. h.mu is held.
func (h *Hub) unplace(r *room) {
	if s := r.shard; s.rooms[r.key] == r {
		delete(s.rooms, r.key)
	}
}

// read is the shard's XREAD BLOCK loop; it ends when the shard has no
// rooms left.
func (h *Hub) read(s *shard) {
	wait := 100 * time.Millisecond
	for {
		h.mu.Lock()
		if len(s.rooms) == 0 {
			s.running = false
			h.dropShard(s)
			h.mu.Unlock()
			return
		}
		rooms := make([]*room, 0, len(s.rooms))
		for _, r := range s.rooms {
			rooms = append(rooms, r)
		}
		h.mu.Unlock()

		n := len(rooms) + 1
		streams := make([]string, 2*n)
		byKey := make(map[string]*room, len(rooms))
		for i, r := range rooms {
			r.mu.Lock()
			streams[i], streams[n+i] = r.key, r.last
			r.mu.Unlock()
			byKey[r.key] = r
		}
		streams[n-1], streams[2*n-1] = s.wakeKey, s.wakeLast
		res, err := h.rdb.XRead(context.Background(), &redis.XReadArgs{Streams: streams, Count: h.readCount(), Block: h.block}).Result()
		switch {
		case errors.Is(err, redis.Nil):
			continue
		case err != nil:
			h.log.Warn("live stream read failed; retrying", "streams", len(rooms), "err", err)
			time.Sleep(wait)
			wait = min(wait*2, 5*time.Second)
			continue
		}
		wait = 100 * time.Millisecond
		for _, st := range res {
			if st.Stream == s.wakeKey && len(st.Messages) > 0 {
				s.wakeLast = st.Messages[len(st.Messages)-1].ID // only this loop uses it
				continue
			}
			if r, ok := byKey[st.Stream]; ok {
				h.deliver(r, st.Messages)
			}
		}
	}
}

// dropShard forgets an empty shard. h.mu is held.
func (h *Hub) dropShard(s *shard) {
	for i, c := range h.shards {
		if c == s {
			h.shards = append(h.shards[:i], h.shards[i+1:]...)
			return
		}
	}
}
