package ops

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/protobuf/types/known/timestamppb"

	opspb "github.com/oof-gg/platform/api/gen/oof/ops/v1"
	"github.com/oof-gg/platform/pkg/apperr"
	"github.com/oof-gg/platform/pkg/projection"
)

// Dead letters over the operator API: the same pkg/projection functions the
// `oof deadletters list|retry` CLI calls (cmd/oof/deadletters.go), so a
// re-drive from the console and one from a shell behave alike (one
// transaction per record, never applied twice).

const (
	defaultDeadLetterLimit = 100
	maxDeadLetterLimit     = 1000
)

// knownProjector checks a projector filter: empty (all) or a projector this
// binary has. A typo would otherwise list or re-drive nothing, silently.
func (s *Service) knownProjector(name string) error {
	if name == "" {
		return nil
	}
	if _, ok := s.Projectors(name); !ok {
		return apperr.Invalid("projector", fmt.Sprintf("no projector named %q", name))
	}
	return nil
}

// ListDeadLetters serves oof.ops.v1 ListDeadLetters.
func (g *GRPC) ListDeadLetters(ctx context.Context, req *opspb.ListDeadLettersRequest) (*opspb.ListDeadLettersResponse, error) {
	if _, err := admin(ctx); err != nil {
		return nil, err
	}
	limit := int(req.GetLimit())
	switch {
	case limit < 0 || limit > maxDeadLetterLimit:
		return nil, apperr.Invalid("limit", fmt.Sprintf("must be between 0 (default %d) and %d", defaultDeadLetterLimit, maxDeadLetterLimit))
	case limit == 0:
		limit = defaultDeadLetterLimit
	}
	if err := g.s.knownProjector(req.GetProjector()); err != nil {
		return nil, err
	}
	// One more than asked tells whether the page is the whole list.
	list, err := projection.ListDeadLetters(ctx, g.s.Pool, projection.ListOptions{
		Projector: req.GetProjector(), Redriven: req.GetIncludeRedriven(), Limit: limit + 1})
	if err != nil {
		return nil, err
	}
	out := &opspb.ListDeadLettersResponse{}
	if len(list) > limit {
		list, out.Truncated = list[:limit], true
	}
	for _, d := range list {
		out.DeadLetters = append(out.DeadLetters, DeadLetterProto(d))
	}
	return out, nil
}

// DeadLetterProto is the wire form of a dead letter (without its payload:
// the record is re-driven from the table, never from a client's copy).
func DeadLetterProto(d projection.DeadLetter) *opspb.DeadLetter {
	out := &opspb.DeadLetter{Id: d.ID, Projector: d.Projector, Topic: d.Topic, Partition: d.Partition, Offset: d.Offset,
		EventType: d.EventType, EventId: d.EventID, Key: d.Key, Error: d.Error, Attempts: int32(d.Attempts),
		FirstFailedAt: timestamppb.New(d.FirstFailedAt), LastFailedAt: timestamppb.New(d.LastFailedAt),
		Status: string(d.Status)}
	if d.RedrivenAt != nil {
		out.RedrivenAt = timestamppb.New(*d.RedrivenAt)
	}
	return out
}

// notTried is the outcome of a dead letter an error kept from being tried.
const notTried = "not tried"

// RetryDeadLetters serves oof.ops.v1 RetryDeadLetters: one id, or all open
// ones (of one projector). A single dead letter that is unknown answers
// NOT_FOUND and one that fails again is a "still failing" outcome (the
// call itself succeeded: the failure is recorded on the dead letter).
func (g *GRPC) RetryDeadLetters(ctx context.Context, req *opspb.RetryDeadLettersRequest) (*opspb.RetryDeadLettersResponse, error) {
	if _, err := admin(ctx); err != nil {
		return nil, err
	}
	switch {
	case req.GetId() < 0:
		return nil, apperr.Invalid("id", "must be a positive dead letter id")
	case req.GetAll() && req.GetId() != 0:
		return nil, apperr.Invalid("id", "give an id or all, not both")
	case !req.GetAll() && req.GetId() == 0:
		return nil, apperr.Invalid("id", "give a dead letter id, or all")
	case !req.GetAll() && req.GetProjector() != "":
		return nil, apperr.Invalid("projector", "goes with all")
	}
	if err := g.s.knownProjector(req.GetProjector()); err != nil {
		return nil, err
	}
	out := &opspb.RetryDeadLettersResponse{}
	if !req.GetAll() {
		res, err := projection.RetryDeadLetter(ctx, g.s.Pool, g.s.Projectors, req.GetId())
		if err != nil {
			return nil, redriveError(req.GetId(), err)
		}
		addOutcome(out, res, nil)
		return out, nil
	}
	err := projection.RetryOpenDeadLetters(ctx, g.s.Pool, g.s.Projectors, req.GetProjector(),
		func(res projection.RedriveResult, err error) { addOutcome(out, res, err) })
	if err != nil {
		return nil, err
	}
	return out, nil
}

// redriveError classifies why one dead letter could not be tried.
func redriveError(id int64, err error) error {
	switch {
	case errors.Is(err, projection.ErrDeadLetterNotFound):
		return apperr.NotFound(fmt.Sprintf("no dead letter with id %d", id))
	case errors.Is(err, projection.ErrUnknownProjector):
		return apperr.FailedPrecondition(err.Error())
	}
	return err
}

// addOutcome appends one re-drive to out; its counts follow the CLI's
// summary line (a no-op on an already re-driven one is not a failure).
func addOutcome(out *opspb.RetryDeadLettersResponse, res projection.RedriveResult, err error) {
	o := &opspb.RedriveOutcome{Id: res.ID, Outcome: string(res.Outcome)}
	switch {
	case err != nil:
		// The error names the dead letter; the status mapping hides the
		// internals of a Go error, so only its classified text is kept.
		o.Outcome, o.Error = notTried, apperr.ToStatus(redriveError(res.ID, err)).Message()
		out.Failed++
	case res.Outcome == projection.StillFailing:
		o.Error = res.Err.Error()
		out.Failed++
	case res.Outcome == projection.AlreadyRedriven:
		out.AlreadyRedriven++
	default:
		out.Redriven++
	}
	out.Outcomes = append(out.Outcomes, o)
}
