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
	// after are the requests ahead of this one in the group where its
	// statement failed. Its failure is told only once they are settled:
	// it may have failed on what they wrote (a twin's idempotency key, an
	// id or a cap they took), and one by one they would have committed
	// before it ran, so its caller must be able to read their outcome.
	after []*commitRequest
}

func (r *commitRequest) settled() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
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
	var failed []*commitRequest // failures not yet told (see commitRequest.after)
	for {
		g.mu.Lock()
		n := min(len(g.waiting), groupMax)
		if n == 0 {
			g.draining = false
			g.mu.Unlock()
			// Every request ahead of a failed one is settled by now: it
			// was either settled or sent again, and nothing waits. Were
			// one not, its caller must still not wait forever.
			for _, req := range settleFailed(failed) {
				close(req.done)
			}
			return
		}
		group := g.waiting[:n:n]
		g.waiting = g.waiting[n:]
		g.mu.Unlock()

		again, failure := g.commitGroup(ctx, group)
		if failure != nil {
			failed = append(failed, failure)
		}
		if len(again) > 0 {
			g.mu.Lock()
			g.waiting = append(again, g.waiting...)
			g.mu.Unlock()
		}
		failed = settleFailed(failed)
	}
}

// settleFailed tells the failed requests whose predecessors are settled
// and returns those still waiting for theirs. A predecessor may itself be
// a failed request told in this call, hence the passes.
func settleFailed(failed []*commitRequest) []*commitRequest {
	for progress := true; progress; {
		progress = false
		waiting := failed[:0]
		for _, req := range failed {
			if !allSettled(req.after) {
				waiting = append(waiting, req)
				continue
			}
			req.after = nil
			close(req.done)
			progress = true
		}
		failed = waiting
	}
	return failed
}

func allSettled(reqs []*commitRequest) bool {
	for _, r := range reqs {
		if !r.settled() {
			return false
		}
	}
	return true
}

// commitGroup sends one group transaction and settles its requests; it
// returns those to send again in a new one, and the request whose
// statement failed, if one did, to be settled once those ahead of it are.
func (g *groupCommitter) commitGroup(ctx context.Context, group []*commitRequest) (again []*commitRequest, failure *commitRequest) {
	conn, err := g.pool.Acquire(ctx)
	if err != nil {
		settle(group, storeErr(err))
		return nil, nil
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
		return nil, nil
	}
	if c := conn.Conn().PgConn(); !c.IsClosed() && c.TxStatus() != 'I' {
		_, _ = conn.Exec(ctx, `ROLLBACK`)
	}
	if failed < 0 {
		// Nobody's statement failed: the whole transaction did.
		if retryable(err) {
			return retryAll(group, err), nil
		}
		settle(group, storeErr(err))
		return nil, nil
	}
	failure = group[failed]
	failure.err = stepErr
	failure.after = group[:failed:failed]
	// The others changed nothing (the transaction rolled back); they go
	// again, in their order, ahead of whatever arrived meanwhile.
	again = make([]*commitRequest, 0, len(group)-1)
	again = append(again, group[:failed]...)
	return append(again, group[failed+1:]...), failure
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
