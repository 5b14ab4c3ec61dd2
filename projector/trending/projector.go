// Package trending ranks games by recent activity (sessions opened, players
// joining) with exponential decay. The score is kept exactly once in
// PostgreSQL (game_trend, applied with the offsets) and mirrored into a Redis
// sorted set that TrendingGame reads.
//
// Score: log(sum over activity of exp((t - epoch) / tau)). Adding an event
// at t is logaddexp(score, (t-epoch)/tau), and since every game decays at the
// same rate the ranking never needs rewriting as time passes.
package trending

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/proto"

	eventspb "github.com/oof-gg/platform/api/gen/oof/events/v1"
	"github.com/oof-gg/platform/pkg/eventlog"
	"github.com/oof-gg/platform/pkg/projection"
	"github.com/oof-gg/platform/projector"
)

// Name is the projector's name.
const Name = projector.Trending

// Tau is the decay time constant: activity loses 1/e of its weight per Tau.
const Tau = 6 * time.Hour

// Epoch anchors scores; any fixed instant works.
var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// LogWeight is the score contribution of one event at t.
func LogWeight(t time.Time) float64 { return t.Sub(epoch).Seconds() / Tau.Seconds() }

// Projector maintains game_trend and its Redis mirror.
type Projector struct {
	topics []string
	pool   *pgxpool.Pool
	rdb    *redis.Client
	key    string // the Redis sorted set
	log    *slog.Logger

	mu      sync.Mutex
	touched map[string]int64 // game -> marks; its committed score may not be in Redis yet
	// mirrorMu serializes mirrors, so an older score never lands after a
	// newer one; ZADD GT makes that doubly sure (scores only grow).
	mirrorMu sync.Mutex
}

// New returns a projector over the session topic; key is the sorted set.
// With rdb nil it writes game_trend only (PostgresOnly).
func New(sessionTopic string, pool *pgxpool.Pool, rdb *redis.Client, key string, log *slog.Logger) *Projector {
	return &Projector{topics: []string{sessionTopic}, pool: pool, rdb: rdb, key: key, log: log, touched: map[string]int64{}}
}

func (p *Projector) Name() string     { return Name }
func (p *Projector) Topics() []string { return p.topics }

func (p *Projector) Reset(ctx context.Context, tx pgx.Tx) error {
	if _, err := tx.Exec(ctx, `TRUNCATE game_trend`); err != nil {
		return err
	}
	if p.rdb == nil {
		return nil
	}
	return p.rdb.Del(ctx, p.key).Err()
}

func (p *Projector) Apply(ctx context.Context, tx pgx.Tx, env eventlog.Envelope, msg proto.Message) error {
	var gameID string
	var at time.Time
	var n int
	switch e := msg.(type) {
	case *eventspb.SessionCreated:
		gameID, at, n = e.GetSession().GetGameId(), e.GetCreatedAt().AsTime(), 1+len(e.GetSession().GetUserIds())
	case *eventspb.SessionUpdated:
		gameID, at, n = e.GetSession().GetGameId(), e.GetUpdatedAt().AsTime(), len(e.GetJoinedUserIds())
	default:
		return nil
	}
	if n == 0 {
		return nil
	}
	// The score is a sum: a redelivered event must not count twice.
	if first, err := projection.FirstDelivery(ctx, tx, Name, env); err != nil || !first {
		return err
	}
	add := LogWeight(at) + math.Log(float64(n))
	_, err := tx.Exec(ctx, `INSERT INTO game_trend (game_id, log_score, events, updated_at) VALUES ($1::uuid, $2, $3, $4)
		ON CONFLICT (game_id) DO UPDATE SET
		  log_score = greatest(game_trend.log_score, EXCLUDED.log_score)
		            + ln(1 + exp(-abs(game_trend.log_score - EXCLUDED.log_score))),
		  events = game_trend.events + EXCLUDED.events,
		  updated_at = greatest(game_trend.updated_at, EXCLUDED.updated_at)`, gameID, add, n, at)
	if err != nil {
		return fmt.Errorf("trending projector: %w", err)
	}
	if p.rdb == nil {
		return nil // PostgresOnly: nothing to mirror
	}
	p.mu.Lock()
	p.touched[gameID]++
	p.mu.Unlock()
	return nil
}

// BeforeBatch keeps the touched set: partitions share this projector, and
// a game marked by a failed attempt only costs one extra (idempotent) copy.
func (p *Projector) BeforeBatch() {}

// AfterCommit copies the committed scores of touched games into Redis and
// forgets them only once copied, so a Redis error is retried next batch.
func (p *Projector) AfterCommit(ctx context.Context) {
	if p.rdb == nil {
		return // PostgresOnly
	}
	p.mu.Lock()
	seen := make(map[string]int64, len(p.touched))
	ids := make([]string, 0, len(p.touched))
	for id, marks := range p.touched {
		ids, seen[id] = append(ids, id), marks
	}
	p.mu.Unlock()
	if len(ids) == 0 {
		return
	}
	if err := p.mirror(ctx, `SELECT game_id::text, log_score FROM game_trend WHERE game_id = ANY($1::uuid[])`, ids); err != nil {
		p.log.Warn("trending mirror failed; retried after the next batch", "err", err)
		return
	}
	p.mu.Lock()
	for id, marks := range seen {
		// Marked again meanwhile (another partition): its batch copies it.
		if p.touched[id] == marks {
			delete(p.touched, id)
		}
	}
	p.mu.Unlock()
}

// Sync copies every score into Redis (at start, after a Redis loss).
func (p *Projector) Sync(ctx context.Context) error {
	return p.mirror(ctx, `SELECT game_id::text, log_score FROM game_trend`)
}

// mirror copies the scores query reads into Redis. The read and the ZADD
// are one read-only transaction, so game_trend stays locked (ACCESS SHARE)
// until the copy is in Redis: an online rebuild's swap, which drops
// game_trend and copies the new table (Resync), waits for a mirror that
// read the old table to finish, and a mirror that starts after the drop
// waits for the swap's commit and reads the new table. No score of the old
// table can land in Redis after the swap's copy.
func (p *Projector) mirror(ctx context.Context, query string, args ...any) error {
	p.mirrorMu.Lock()
	defer p.mirrorMu.Unlock()
	return pgx.BeginTxFunc(ctx, p.pool, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		members, err := readScores(ctx, tx, query, args...)
		if err != nil || len(members) == 0 {
			return err
		}
		return p.rdb.ZAddArgs(ctx, p.key, redis.ZAddArgs{GT: true, Members: members}).Err()
	})
}

func readScores(ctx context.Context, tx pgx.Tx, query string, args ...any) ([]redis.Z, error) {
	rows, err := tx.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var members []redis.Z
	for rows.Next() {
		var z redis.Z
		var id string
		if err := rows.Scan(&id, &z.Score); err != nil {
			return nil, err
		}
		z.Member = id
		members = append(members, z)
	}
	return members, rows.Err()
}
