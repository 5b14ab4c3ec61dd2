package entity

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventspb "github.com/oof-gg/platform/api/gen/oof/events/v1"
	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	"github.com/oof-gg/platform/pkg/aggregate"
	"github.com/oof-gg/platform/pkg/authz"
	"github.com/oof-gg/platform/pkg/eventlog"
	"github.com/oof-gg/platform/pkg/validate"
)

// Update changes an entity's attribute values (see applyValues for how the
// contract's key-less list maps onto keys). A change that changes nothing
// records no event and keeps the version, so retries are harmless.
func (h *Handler) Update(ctx context.Context, req *gamepb.EntityUpdateRequest) (*gamepb.Entity, int64, error) {
	caller, err := authz.Caller(ctx)
	if err != nil {
		return nil, 0, err
	}
	var c validate.Checks
	checkIDs(&c, req.GetId(), req.GetSessionId(), req.GetGameId())
	checkUpdateValues(&c, req.GetAttributes())
	if err := c.Err(); err != nil {
		return nil, 0, err
	}
	var out *gamepb.Entity
	var version int64
	err = h.inSession(ctx, caller, req.GetSessionId(), req.GetGameId(), func(_ *gamepb.Session, scope aggregate.Scope) error {
		return h.Execute(ctx, Projector, func(tx aggregate.Tx) ([]eventlog.Event, error) {
			l, err := h.load(ctx, tx, req.GetId(), req.GetSessionId(), req.GetGameId())
			if err != nil {
				return nil, err
			}
			next := proto.Clone(l.entity).(*gamepb.Entity)
			if err := applyValues(next, req.GetAttributes()); err != nil {
				return nil, err
			}
			out, version = next, l.rec.Version
			if proto.Equal(next, l.entity) {
				return nil, nil
			}
			before := len(l.rec.State)
			if l.rec.State, err = encode(next); err != nil {
				return nil, err
			}
			if err := tx.Save(ctx, l.rec, l.rec.Version); err != nil {
				return nil, err
			}
			tx.ExpectUnchanged(scope)
			h.account(tx, next.GetSessionId(), 0, int64(len(l.rec.State)-before))
			version++
			return []eventlog.Event{h.event(next.GetSessionId(), next.GetId(), &eventspb.EntityUpdated{
				Entity: next, Version: version, UpdatedBy: caller.UserID, UpdatedAt: timestamppb.New(h.Now()),
			})}, nil
		})
	})
	if err != nil {
		return nil, 0, fmt.Errorf("update entity: %w", err)
	}
	return out, version, nil
}

// Delete removes an entity for good; it returns the version of the delete.
func (h *Handler) Delete(ctx context.Context, req *gamepb.EntityDeleteRequest) (int64, error) {
	caller, err := authz.Caller(ctx)
	if err != nil {
		return 0, err
	}
	var c validate.Checks
	checkIDs(&c, req.GetId(), req.GetSessionId(), req.GetGameId())
	if err := c.Err(); err != nil {
		return 0, err
	}
	var version int64
	err = h.inSession(ctx, caller, req.GetSessionId(), req.GetGameId(), func(_ *gamepb.Session, scope aggregate.Scope) error {
		return h.Execute(ctx, Projector, func(tx aggregate.Tx) ([]eventlog.Event, error) {
			l, err := h.load(ctx, tx, req.GetId(), req.GetSessionId(), req.GetGameId())
			if err != nil {
				return nil, err
			}
			// The last state stays in the write model (not live) for audits.
			l.rec.Live = false
			if err := tx.Save(ctx, l.rec, l.rec.Version); err != nil {
				return nil, err
			}
			tx.ExpectUnchanged(scope)
			h.account(tx, req.GetSessionId(), -1, -int64(len(l.rec.State)))
			version = l.rec.Version + 1
			return []eventlog.Event{h.event(req.GetSessionId(), req.GetId(), &eventspb.EntityDeleted{
				EntityId: req.GetId(), SessionId: req.GetSessionId(), GameId: req.GetGameId(),
				Version: version, DeletedBy: caller.UserID, DeletedAt: timestamppb.New(h.Now()),
			})}, nil
		})
	})
	if err != nil {
		return 0, fmt.Errorf("delete entity: %w", err)
	}
	return version, nil
}
