package kit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"

	"google.golang.org/protobuf/proto"

	"github.com/oof-gg/platform/pkg/aggregate"
	"github.com/oof-gg/platform/pkg/apperr"
	"github.com/oof-gg/platform/pkg/idempotency"
)

// Once is a create command that honours an idempotency key: Command names
// it, Caller scopes the key (two users' keys never meet), Request is
// hashed so the same key cannot be reused for a different request, and
// Result is the message the command fills; on a retry it is overwritten
// with the first outcome.
type Once struct {
	Command string
	Caller  string
	Request proto.Message
	Result  proto.Message
}

type onceCtx struct{}

// pendingOutcome is what ExecuteFor stores with the command's transaction.
type pendingOutcome struct {
	outcome aggregate.Outcome
	result  proto.Message
}

// ExecuteOnce runs run (which calls Execute/ExecuteFor) at most once per
// idempotency key in ctx (see pkg/idempotency). Without a key it just runs.
// With one, the first successful outcome is stored in the command's own
// transaction; a later call with the same key and request returns it (and
// sets idempotency.ReplayHeader), one with another request fails
// INVALID_ARGUMENT. Failed commands store nothing: they changed nothing, so
// a retry simply runs again.
func (d Deps) ExecuteOnce(ctx context.Context, once Once, run func(context.Context) error) error {
	key := idempotency.KeyFrom(ctx)
	if key == "" {
		return run(ctx)
	}
	req, err := proto.MarshalOptions{Deterministic: true}.Marshal(once.Request)
	if err != nil {
		return apperr.Internal("hash request", err)
	}
	sum := sha256.Sum256(req)
	replay := func() (bool, error) {
		stored, found, err := d.Store.LookupOutcome(ctx, once.Caller, once.Command, key)
		if err != nil || !found {
			return false, err
		}
		if !bytes.Equal(stored.RequestHash, sum[:]) {
			return true, apperr.Invalid(idempotency.Header, "was already used for a different request; use a new key")
		}
		proto.Reset(once.Result)
		if err := proto.Unmarshal(stored.Result, once.Result); err != nil {
			return true, apperr.Internal("decode stored outcome", err)
		}
		idempotency.MarkReplay(ctx)
		return true, nil
	}
	if done, err := replay(); done || err != nil {
		return err
	}
	pending := &pendingOutcome{result: once.Result, outcome: aggregate.Outcome{
		Caller: once.Caller, Command: once.Command, Key: key, RequestHash: sum[:]}}
	err = run(context.WithValue(ctx, onceCtx{}, pending))
	if err == nil {
		return nil
	}
	// A twin with the same key may have committed while this one decided:
	// then this one failed on the key itself (ErrOutcomeTaken) or on what
	// the twin changed first (the id it took, a cap it filled). Either way
	// the client gets the twin's outcome, as it would have after it.
	if done, rerr := replay(); done || rerr != nil {
		return rerr
	}
	if errors.Is(err, aggregate.ErrOutcomeTaken) {
		return apperr.Aborted("a concurrent request with the same idempotency key is still running; retry")
	}
	return err
}

// saveOutcome stores the pending outcome of ctx's ExecuteOnce, if any, in
// tx. It runs after decide, so the result holds what decide made of it.
func saveOutcome(ctx context.Context, tx aggregate.Tx) error {
	p, _ := ctx.Value(onceCtx{}).(*pendingOutcome)
	if p == nil {
		return nil
	}
	res, err := proto.MarshalOptions{Deterministic: true}.Marshal(p.result)
	if err != nil {
		return apperr.Internal("encode outcome", err)
	}
	p.outcome.Result = res
	tx.SaveOutcome(ctx, p.outcome)
	return nil
}
