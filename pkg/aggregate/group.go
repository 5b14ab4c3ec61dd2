package aggregate

import (
	"context"
	"errors"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/oof-gg/platform/pkg/apperr"
	"github.com/oof-gg/platform/pkg/db"
)

// groupMax bounds the commands one group transaction carries, so one
// transaction's locks and pipeline stay small.
const groupMax = 64

// groupRetries bounds how often a group is sent again after a failure
// that is nobody's fault (a deadlock with another transaction).
const groupRetries = 3

// groupCommitter commits the transactions that read nothing inside
// themselves (their reads were plain snapshot reads, their writes are
// queued steps guarded by versions and counters) together: every command
// waiting to commit goes into one transaction and one pipeline, in the
// order they arrived. N commands then cost one BEGIN, one COMMIT, one WAL
// flush and one round trip instead of N of each, and their events reach
// the relay together — this is where the write path's throughput comes
// from (docs/architecture.md, "Commit path").
//
// The result is the same as committing them one by one in that order: a
// statement that fails (a lost version race, a full counter, a taken key)
// fails its own command only; the transaction is rolled back and the
// others are sent again without it. An error that belongs to no statement
// (the connection, the COMMIT) fails them all, as it would have failed
// each alone.
type groupCommitter struct {
	pool *pgxpool.Pool

	mu       sync.Mutex
	waiting  []*commitRequest
	draining bool
}

type commitRequest struct {
	steps   []db.Step
	err     error
	retries int
	done    chan struct{}
}

// commit queues steps and waits for the group transaction that carries
// them. It does not give up when ctx ends: once queued, the command may
// commit, and the caller must learn whether it did.
func (g *groupCommitter) commit(ctx context.Context, steps []db.Step) error {
	req := &commitRequest{steps: steps, done: make(chan struct{})}
	g.mu.Lock()
	g.waiting = append(g.waiting, req)
	if !g.draining {
		g.draining = true
		go g.drain(context.WithoutCancel(ctx))
	}
	g.mu.Unlock()
	<-req.done
	return req.err
}

// drain commits groups until nothing waits. One group is in flight at a
// time: groups then never wait on each other's locks, and while one
// commits the next fills up.
func (g *groupCommitter) drain(ctx context.Context) {
	for {
		g.mu.Lock()
		n := min(len(g.waiting), groupMax)
		if n == 0 {
			g.draining = false
			g.mu.Unlock()
			return
		}
		group := g.waiting[:n:n]
		g.waiting = g.waiting[n:]
		g.mu.Unlock()

		again := g.commitGroup(ctx, group)
		if len(again) > 0 {
			g.mu.Lock()
			g.waiting = append(again, g.waiting...)
			g.mu.Unlock()
		}
	}
}

// commitGroup sends one group transaction and settles its requests; it
// returns those to send again in a new one.
func (g *groupCommitter) commitGroup(ctx context.Context, group []*commitRequest) []*commitRequest {
	conn, err := g.pool.Acquire(ctx)
	if err != nil {
		settle(group, storeErr(err))
		return nil
	}
	// A connection left inside a transaction is closed by the pool on
	// release, which rolls it back.
	defer conn.Release()
	b := &pgx.Batch{}
	b.Queue(`BEGIN`)
	for _, req := range group {
		for _, s := range req.steps {
			b.Queue(s.SQL, s.Args...)
		}
	}
	b.Queue(`COMMIT`)
	br := conn.Conn().SendBatch(ctx, b)
	failed, stepErr, err := readGroup(br, group)
	// As in a single commit: once COMMIT answered, the group is durable.
	_ = br.Close()
	if failed < 0 && err == nil {
		settle(group, nil)
		return nil
	}
	if c := conn.Conn().PgConn(); !c.IsClosed() && c.TxStatus() != 'I' {
		_, _ = conn.Exec(ctx, `ROLLBACK`)
	}
	if failed < 0 {
		// Nobody's statement failed: the whole transaction did.
		if retryable(err) {
			return retryAll(group, err)
		}
		settle(group, storeErr(err))
		return nil
	}
	settle(group[failed:failed+1], stepErr)
	// The others changed nothing (the transaction rolled back); they go
	// again, in their order, ahead of whatever arrived meanwhile.
	again := make([]*commitRequest, 0, len(group)-1)
	again = append(again, group[:failed]...)
	return append(again, group[failed+1:]...)
}

// readGroup reads a group's results. failed is the index of the request
// whose statement failed (stepErr its error, mapped by the step), or -1;
// err is a failure of the transaction itself.
func readGroup(br pgx.BatchResults, group []*commitRequest) (failed int, stepErr, err error) {
	if _, err := br.Exec(); err != nil {
		return -1, nil, err
	}
	for i, req := range group {
		for _, s := range req.steps {
			var err error
			if s.Scan != nil {
				err = s.Scan(br.QueryRow())
			} else {
				_, err = br.Exec()
			}
			if err == nil {
				continue
			}
			if !statementError(err) {
				return -1, nil, err
			}
			if s.Fail != nil {
				return i, s.Fail(err), nil
			}
			return i, storeErr(err), nil
		}
	}
	tag, err := br.Exec()
	if err != nil {
		return -1, nil, err
	}
	if tag.String() != "COMMIT" {
		return -1, nil, errors.New("group transaction rolled back")
	}
	return -1, nil, nil
}

// statementError reports whether err is the fault of the statement that
// got it (its data, a constraint, a guard), rather than of the connection
// or of the transaction as a whole (a deadlock or serialization failure
// with another transaction).
func statementError(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		var ae *apperr.Error
		return errors.As(err, &ae) // a Scan that judged the row
	}
	return !retryable(err)
}

// retryable reports whether a failure of the group transaction would
// likely pass when sent again.
func retryable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40P01" || pgErr.Code == "40001")
}

func retryAll(group []*commitRequest, err error) []*commitRequest {
	var again []*commitRequest
	for _, req := range group {
		req.retries++
		if req.retries > groupRetries {
			settle([]*commitRequest{req}, storeErr(err))
			continue
		}
		again = append(again, req)
	}
	return again
}

func settle(reqs []*commitRequest, err error) {
	for _, req := range reqs {
		req.err = err
		close(req.done)
	}
}
