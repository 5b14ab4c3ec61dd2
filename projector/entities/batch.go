package entities

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"

	eventspb "github.com/oof-gg/platform/api/gen/oof/events/v1"
	"github.com/oof-gg/platform/pkg/projection"
)

var _ projection.BatchApplier = (*Projector)(nil)

// change is one entity event reduced to what the read model needs.
type change struct {
	id, sessionID, gameID string
	version               int64
	deleted               bool
	snapshot              []byte
	at                    time.Time
}

// ApplyAll applies a batch's entity events with one pipelined round trip to
// PostgreSQL and, at the same time, one to Redis that marks the entities'
// live copies pending (so readers take PostgreSQL until the mirror after
// the commit catches up). A pending mark for an event the row turns out to
// be past is harmless: the mirror clears it with the newer state.
func (p *Projector) ApplyAll(ctx context.Context, tx pgx.Tx, events []projection.Event) error {
	changes := make([]change, 0, len(events))
	for _, ev := range events {
		c, ok, err := toChange(ev)
		if err != nil {
			return err
		}
		if ok {
			changes = append(changes, c)
		}
	}
	if len(changes) == 0 {
		return nil
	}
	var affected []int64
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		var err error
		affected, err = p.write(gctx, tx, changes)
		return err
	})
	if p.rdb != nil {
		g.Go(func() error { return p.markAllPending(gctx, changes) })
	}
	if err := g.Wait(); err != nil {
		return fmt.Errorf("entities projector: %w", err)
	}
	if p.rdb == nil {
		return nil // PostgresOnly: no copy to mark or write
	}
	// Only a row this event changed needs mirroring; an event the row is
	// already past was mirrored by the batch that committed the newer state.
	// What this attempt wrote reaches AfterCommit only if it commits.
	if slot := projection.BatchSlotFrom(ctx); slot != nil {
		for i, c := range changes {
			if affected[i] > 0 {
				slot.Add(committed{id: c.id, sessionID: c.sessionID, version: c.version, deleted: c.deleted, snapshot: c.snapshot})
			}
		}
	}
	return nil
}

func toChange(ev projection.Event) (change, bool, error) {
	var c change
	switch e := ev.Msg.(type) {
	case *eventspb.EntityCreated:
		c = change{id: e.GetEntity().GetId(), sessionID: e.GetEntity().GetSessionId(), gameID: e.GetEntity().GetGameId(),
			version: e.GetVersion(), at: e.GetCreatedAt().AsTime()}
		snap, err := projection.Snapshot(e.GetEntity())
		if err != nil {
			return c, false, fmt.Errorf("snapshot entity %s: %w", c.id, err)
		}
		c.snapshot = snap
	case *eventspb.EntityUpdated:
		c = change{id: e.GetEntity().GetId(), sessionID: e.GetEntity().GetSessionId(), gameID: e.GetEntity().GetGameId(),
			version: e.GetVersion(), at: e.GetUpdatedAt().AsTime()}
		snap, err := projection.Snapshot(e.GetEntity())
		if err != nil {
			return c, false, fmt.Errorf("snapshot entity %s: %w", c.id, err)
		}
		c.snapshot = snap
	case *eventspb.EntityDeleted:
		c = change{id: e.GetEntityId(), sessionID: e.GetSessionId(), version: e.GetVersion(), deleted: true,
			at: e.GetDeletedAt().AsTime()}
	default:
		return c, false, nil
	}
	return c, true, nil
}

// write sends every change in one pipeline and returns the rows each changed.
func (p *Projector) write(ctx context.Context, tx pgx.Tx, changes []change) ([]int64, error) {
	b := &pgx.Batch{}
	for _, c := range changes {
		if c.deleted {
			b.Queue(`UPDATE entities SET deleted = true, version = $2, updated_at = $3
				WHERE id = $1::uuid AND version < $2`, c.id, c.version, c.at)
			continue
		}
		// A deleted entity stays deleted: its id is never reused.
		b.Queue(`INSERT INTO entities (id, session_id, game_id, version, deleted, snapshot, updated_at)
			VALUES ($1::uuid, $2::uuid, $3::uuid, $4, false, $5, $6)
			ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version, snapshot = EXCLUDED.snapshot,
			  updated_at = EXCLUDED.updated_at
			WHERE entities.version < EXCLUDED.version AND NOT entities.deleted`,
			c.id, c.sessionID, c.gameID, c.version, c.snapshot, c.at)
	}
	res := tx.SendBatch(ctx, b)
	defer res.Close()
	affected := make([]int64, len(changes))
	for i := range changes {
		tag, err := res.Exec()
		if err != nil {
			return nil, fmt.Errorf("write entity %s: %w", changes[i].id, err)
		}
		affected[i] = tag.RowsAffected()
	}
	return affected, res.Close()
}

func (p *Projector) markAllPending(ctx context.Context, changes []change) error {
	pipe := p.rdb.Pipeline()
	cmds := make([]*redis.Cmd, len(changes))
	for i, c := range changes {
		cmds[i] = markScript.Eval(ctx, pipe, []string{Key(p.prefix, c.sessionID, c.id)}, c.version, liveTTL.Milliseconds())
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("mark entities pending in redis: %w", err)
	}
	return nil
}
