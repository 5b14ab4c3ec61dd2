package matchmaking

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	stdpb "github.com/oof-gg/platform/api/gen/v1/std"
	"github.com/oof-gg/platform/pkg/apperr"
)

// Ticket states (the "state" field of a ticket's hash).
const (
	StateQueued    = "queued"
	StateClaimed   = "claimed"
	StateMatched   = "matched"
	StateCancelled = "cancelled"
	StateExpired   = "expired"
)

// Ticket is one player's place in a game's queue.
type Ticket struct {
	ID, Player, Game, Team string
	Region                 stdpb.RegionEnum
	State                  string
	Queued, Expires        time.Time
	Group, Session         string
}

// Tickets is the Redis ticket store that JoinLeave, WatchQueue and the
// matchmaker share (scripts.go has the key layout).
type Tickets struct {
	Redis  redis.UniversalClient
	Prefix string        // the platform's Redis key prefix
	TTL    time.Duration // OOF_MATCH_TICKET_TTL
	// Retain is how long a finished ticket stays readable (default 10 min).
	Retain time.Duration
	Now    func() time.Time
}

func (t *Tickets) p() string { return t.Prefix + "mm:" }

func (t *Tickets) now() time.Time {
	if t.Now != nil {
		return t.Now()
	}
	return time.Now()
}

func (t *Tickets) retain() time.Duration {
	if t.Retain > 0 {
		return t.Retain
	}
	return 10 * time.Minute
}

func ms(tm time.Time) int64 { return tm.UnixMilli() }

func unavailable(err error) error { return apperr.Unavailable("matchmaking queue unavailable", err) }

// Join queues a new ticket (id) for player, or, when they already hold a
// live ticket of the game with the same region and team, extends that one
// (a heartbeat). fresh says which. A live ticket with another region or
// team is FAILED_PRECONDITION.
func (t *Tickets) Join(ctx context.Context, id, player, game string, region stdpb.RegionEnum, team string) (ticket string, fresh bool, err error) {
	res, err := joinScript.Run(ctx, t.Redis, nil, t.p(), id, player, game, strconv.Itoa(int(region)), team,
		ms(t.now()), t.TTL.Milliseconds(), t.retain().Milliseconds()).StringSlice()
	if err != nil {
		return "", false, unavailable(err)
	}
	switch res[0] {
	case "conflict":
		return "", false, apperr.FailedPrecondition("you are already queued for this game with another region or team; LEAVE first")
	case "new":
		return res[1], true, nil
	}
	return res[1], false, nil
}

// Heartbeat extends a queued ticket and answers its state ("" when gone).
func (t *Tickets) Heartbeat(ctx context.Context, id string) (string, error) {
	s, err := heartbeatScript.Run(ctx, t.Redis, nil, t.p(), id, ms(t.now()), t.TTL.Milliseconds(), t.retain().Milliseconds()).Text()
	if err != nil {
		return "", unavailable(err)
	}
	return s, nil
}

// Cancel ends player's queued ticket of game; it answers the ticket.
func (t *Tickets) Cancel(ctx context.Context, game, player string) (string, error) {
	res, err := cancelScript.Run(ctx, t.Redis, nil, t.p(), game, player, ms(t.now())).StringSlice()
	if err != nil {
		return "", unavailable(err)
	}
	switch res[0] {
	case "claimed":
		return "", apperr.FailedPrecondition("your ticket is already being placed into a session; leave the session once placed")
	case "none":
		return "", apperr.NotFound("you are not queued for this game")
	}
	return res[1], nil
}

// Get reads a ticket; NOT_FOUND when it is unknown (or long gone).
func (t *Tickets) Get(ctx context.Context, id string) (Ticket, error) {
	m, err := t.Redis.HGetAll(ctx, t.p()+"t:"+id).Result()
	if err != nil {
		return Ticket{}, unavailable(err)
	}
	if len(m) == 0 {
		return Ticket{}, apperr.NotFound("ticket not found (unknown or expired)")
	}
	return fromHash(id, m), nil
}

func fromHash(id string, m map[string]string) Ticket {
	region, _ := strconv.Atoi(m["region"])
	queued, _ := strconv.ParseInt(m["queued"], 10, 64)
	expires, _ := strconv.ParseInt(m["expires"], 10, 64)
	tk := Ticket{ID: id, Player: m["player"], Game: m["game"], Team: m["team"], Region: stdpb.RegionEnum(region),
		State: m["state"], Queued: time.UnixMilli(queued), Expires: time.UnixMilli(expires),
		Group: m["group"], Session: m["session"]}
	return tk
}

// pools lists the "<game>:<region>" pools that may hold tickets.
func (t *Tickets) pools(ctx context.Context) ([]string, error) {
	return t.Redis.SMembers(ctx, t.p()+"pools").Result()
}

// candidates reads up to limit oldest tickets of a pool that are queued and
// not expired.
func (t *Tickets) candidates(ctx context.Context, pool string, limit int64) ([]Ticket, error) {
	ids, err := t.Redis.ZRange(ctx, t.p()+"q:"+pool, 0, limit-1).Result()
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	pipe := t.Redis.Pipeline()
	cmds := make([]*redis.MapStringStringCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.HGetAll(ctx, t.p()+"t:"+id)
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, err
	}
	now := t.now()
	var out []Ticket
	for i, c := range cmds {
		tk := fromHash(ids[i], c.Val())
		if tk.State == StateQueued && !tk.Expires.Before(now) {
			out = append(out, tk)
		}
	}
	return out, nil
}

// claim takes every ticket of ids for group atomically; false when one of
// them was taken or ended meanwhile (another matchmaker won).
func (t *Tickets) claim(ctx context.Context, group, pool string, ids []string, deadline time.Time) (bool, error) {
	game, region, _ := strings.Cut(pool, ":")
	args := []any{t.p(), group, game, region, ms(t.now()), ms(deadline)}
	for _, id := range ids {
		args = append(args, id)
	}
	res, err := claimScript.Run(ctx, t.Redis, nil, args...).StringSlice()
	if err != nil {
		return false, err
	}
	return res[0] == "ok", nil
}

func (t *Tickets) matched(ctx context.Context, group, session string) error {
	return matchedScript.Run(ctx, t.Redis, nil, t.p(), group, session, t.retain().Milliseconds()).Err()
}

func (t *Tickets) release(ctx context.Context, group string) error {
	return releaseScript.Run(ctx, t.Redis, nil, t.p(), group, ms(t.now())).Err()
}

// takeover returns a claimed group whose claimer missed deadline, now
// claimed by the caller until next ("" when there is none).
func (t *Tickets) takeover(ctx context.Context, next time.Time) (string, error) {
	return takeoverScript.Run(ctx, t.Redis, nil, t.p(), ms(t.now()), ms(next)).Text()
}

// group reads a claimed group's tickets.
func (t *Tickets) group(ctx context.Context, group string) ([]Ticket, error) {
	ids, err := t.Redis.HGet(ctx, t.p()+"g:"+group, "tickets").Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Ticket
	for _, id := range strings.Fields(ids) {
		m, err := t.Redis.HGetAll(ctx, t.p()+"t:"+id).Result()
		if err != nil {
			return nil, err
		}
		if len(m) > 0 {
			out = append(out, fromHash(id, m))
		}
	}
	return out, nil
}

// sweep ends up to limit expired tickets and returns them.
func (t *Tickets) sweep(ctx context.Context, limit int) ([]Ticket, error) {
	ids, err := sweepScript.Run(ctx, t.Redis, nil, t.p(), ms(t.now()), limit).StringSlice()
	if err != nil {
		return nil, err
	}
	var out []Ticket
	for _, id := range ids {
		tk, err := t.Get(ctx, id)
		if err != nil {
			return out, fmt.Errorf("read expired ticket: %w", err)
		}
		out = append(out, tk)
	}
	return out, nil
}

func (t *Tickets) dropPool(ctx context.Context, pool string) error {
	return dropPoolScript.Run(ctx, t.Redis, nil, t.p(), pool).Err()
}
