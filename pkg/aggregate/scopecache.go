package aggregate

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/oof-gg/platform/pkg/apperr"
	"github.com/oof-gg/platform/pkg/db"
)

// ErrStale is the cause of a commit that ExpectUnchanged refused: a scope
// the command decided on changed before it committed. The command changed
// nothing and may decide again on a fresh read.
var ErrStale = errors.New("aggregate: the scope changed since it was read")

// ScopeCache keeps scopes read by LoadWithParent, so that a stream of
// commands under one parent (the entity changes of a running session) does
// not read the parent before each of them: that read was a round trip of
// its own per command, outside the group commit.
//
// A cached scope may be stale. A command that decides on one must call
// Tx.ExpectUnchanged, so its commit fails with ErrStale if either record
// moved on; it then forgets the scope and decides again on a fresh read
// (Fresh). Decisions are therefore checked against the committed state at
// commit time — tighter than the unlocked read they replace, which could
// already be stale when the command committed.
type ScopeCache struct {
	store *Store
	max   int
	ttl   time.Duration
	now   func() time.Time

	mu      sync.Mutex
	entries map[scopeKey]cachedScope
}

type scopeKey struct {
	kind, parentKind Kind
	id               string
}

type cachedScope struct {
	scope Scope
	at    time.Time
}

// NewScopeCache caches up to max scopes of store, each for at most ttl (a
// bound on memory held by scopes nobody uses, not on staleness: commits
// check that).
func NewScopeCache(store *Store, max int, ttl time.Duration) *ScopeCache {
	return &ScopeCache{store: store, max: max, ttl: ttl, now: time.Now, entries: map[scopeKey]cachedScope{}}
}

// Load returns kind/id with its parent of parentKind, from the cache when
// it holds them, else read as Store.LoadWithParent does. A nil cache
// always reads.
func (c *ScopeCache) Load(ctx context.Context, kind Kind, id string, parentKind Kind) (Scope, error) {
	k := scopeKey{kind: kind, parentKind: parentKind, id: id}
	if c != nil {
		c.mu.Lock()
		e, ok := c.entries[k]
		c.mu.Unlock()
		if ok && c.now().Sub(e.at) < c.ttl {
			return e.scope, nil
		}
	}
	return c.Fresh(ctx, kind, id, parentKind)
}

// Fresh reads kind/id and its parent and caches what it read (a missing
// aggregate is not cached: it may be created any moment). A parentKind of
// "" reads kind/id alone (Scope.Parent stays empty).
func (c *ScopeCache) Fresh(ctx context.Context, kind Kind, id string, parentKind Kind) (Scope, error) {
	if c == nil {
		return Scope{}, errors.New("aggregate: nil scope cache")
	}
	var sc Scope
	var err error
	if parentKind == "" {
		sc.Record, err = c.store.Load(ctx, kind, id)
	} else {
		sc, err = c.store.LoadWithParent(ctx, kind, id, parentKind)
	}
	if err != nil {
		c.Forget(kind, id, parentKind)
		return sc, err
	}
	k := scopeKey{kind: kind, parentKind: parentKind, id: id}
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		c.evict(now)
	}
	// A slower reader must not replace a newer scope with an older one.
	if e, ok := c.entries[k]; !ok || e.scope.Version <= sc.Version {
		c.entries[k] = cachedScope{scope: sc, at: now}
	}
	return sc, nil
}

// Forget drops a cached scope.
func (c *ScopeCache) Forget(kind Kind, id string, parentKind Kind) {
	if c == nil {
		return
	}
	c.mu.Lock()
	delete(c.entries, scopeKey{kind: kind, parentKind: parentKind, id: id})
	c.mu.Unlock()
}

// evict makes room: expired entries go first; if none had expired, an
// arbitrary half goes (map order), which is enough for a cache whose
// misses cost one read each. Called with mu held.
func (c *ScopeCache) evict(now time.Time) {
	for k, e := range c.entries {
		if now.Sub(e.at) >= c.ttl {
			delete(c.entries, k)
		}
	}
	for k := range c.entries {
		if len(c.entries) < c.max/2 {
			return
		}
		delete(c.entries, k)
	}
}

// ExpectUnchanged makes the commit fail with ErrStale (ABORTED if it
// reaches a client) unless sc's record and parent are still at the
// versions sc read. The check runs in PostgreSQL, in the commit's
// pipeline, so it costs no round trip of its own.
func (t Tx) ExpectUnchanged(sc Scope) {
	t.Queue(db.Step{
		// Division by zero unless both rows still have the versions read.
		SQL: `SELECT 1 / (count(*) = 2)::int FROM command_aggregates
			WHERE (kind = $1 AND id = $2 AND version = $3) OR (kind = $4 AND id = $5 AND version = $6)`,
		Args: []any{string(sc.Kind), sc.ID, sc.Version, string(sc.Parent.Kind), sc.Parent.ID, sc.Parent.Version},
		Scan: func(row pgx.Row) error { var one int; return row.Scan(&one) },
		Fail: func(err error) error {
			var pgErr *pgconn.PgError
			if errors.As(err, &pgErr) && pgErr.Code == "22012" {
				return &apperr.Error{Kind: apperr.KindAborted, Message: string(sc.Kind) + " " + sc.ID + " changed concurrently; retry", Cause: ErrStale}
			}
			return storeErr(err)
		},
	})
}

// ExpectVersion makes the commit fail with ErrStale (ABORTED if it reaches
// a client) unless kind/id is still at version: for a decision made on an
// unlocked read of it. Like ExpectUnchanged, it runs in the commit's
// pipeline.
func (t Tx) ExpectVersion(kind Kind, id string, version int64) {
	t.Queue(db.Step{
		SQL:  `SELECT 1 / count(*)::int FROM command_aggregates WHERE kind = $1 AND id = $2 AND version = $3`,
		Args: []any{string(kind), id, version},
		Scan: func(row pgx.Row) error { var one int; return row.Scan(&one) },
		Fail: func(err error) error {
			var pgErr *pgconn.PgError
			if errors.As(err, &pgErr) && pgErr.Code == "22012" {
				return &apperr.Error{Kind: apperr.KindAborted, Message: string(kind) + " " + id + " changed concurrently; retry", Cause: ErrStale}
			}
			return storeErr(err)
		},
	})
}
