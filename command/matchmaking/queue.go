// Package matchmaking queues players for a game (GameService.JoinLeave
// without a session_id) and runs the matchmaker that places them into
// sessions: tickets live in Redis (scripts.go), the matchmaker's decisions
// go through the session command (CreateAs), and every ticket's life is
// told on oof.matchmaking.v1 (docs/realtime.md, docs/events.md).
package matchmaking

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventspb "github.com/oof-gg/platform/api/gen/oof/events/v1"
	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	stdpb "github.com/oof-gg/platform/api/gen/v1/std"
	"github.com/oof-gg/platform/pkg/aggregate"
	"github.com/oof-gg/platform/pkg/apperr"
	"github.com/oof-gg/platform/pkg/auth"
	"github.com/oof-gg/platform/pkg/authz"
	"github.com/oof-gg/platform/pkg/eventlog"
	"github.com/oof-gg/platform/pkg/outbox"
	"github.com/oof-gg/platform/pkg/validate"
)

const source = "/oof/command/matchmaking"

// Queue handles JoinLeave without a session_id.
type Queue struct {
	Tickets *Tickets
	Store   *aggregate.Store // to read the game (exists? owner?)
	// Outbox stages the lifecycle events: they reach Kafka through the
	// relay, at least once, in order per ticket (key = ticket id).
	Outbox *outbox.Outbox
	Topic  string // full oof.matchmaking.v1 name
}

// JoinLeave queues (JOIN) or un-queues (LEAVE) a player for a game and
// answers the queued session: Session{id: ticket id, game_id, state:
// STATE_QUEUED, region}. JOIN while already queued with the same region
// and team is a heartbeat and answers the same ticket.
func (q *Queue) JoinLeave(ctx context.Context, caller auth.Principal, req *gamepb.JoinLeaveGame) (*gamepb.Session, error) {
	if caller.UserID == "" {
		return nil, apperr.Unauthenticated("authentication required")
	}
	var c validate.Checks
	c.ID("game_id", req.GetGameId())
	if req.UserId != "" && (len(req.UserId) > 64 || !validate.Storable(req.UserId)) {
		c.Add("user_id", "must be a user id of 1 to 64 bytes")
	}
	if req.TeamId != nil {
		c.Text("team_id", req.GetTeamId(), 1, 64)
	}
	if r := req.Region; r != nil {
		if _, known := stdpb.RegionEnum_name[int32(*r)]; !known {
			c.Add("region", "unknown region")
		}
	}
	if _, known := gamepb.JoinLeaveGame_Action_name[int32(req.GetAction())]; !known {
		c.Add("action", "must be JOIN or LEAVE")
	}
	if err := c.Err(); err != nil {
		return nil, err
	}
	rec, err := q.Store.Load(ctx, aggregate.KindGame, req.GetGameId())
	if errors.Is(err, aggregate.ErrNotFound) {
		return nil, apperr.NotFound("game not found")
	}
	if err != nil {
		return nil, err
	}
	user := req.GetUserId()
	if user == "" {
		user = caller.UserID
	}
	if user != caller.UserID && !authz.CanManageAnySession(caller, rec.Owner) {
		return nil, authz.Denied("queue or un-queue another user (game owner, admin or game instance only)")
	}
	if req.GetAction() == gamepb.JoinLeaveGame_LEAVE {
		id, err := q.Tickets.Cancel(ctx, req.GetGameId(), user)
		if err != nil {
			return nil, err
		}
		tk, err := q.Tickets.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		if err := q.publish(ctx, tk.ID, &eventspb.MatchCancelled{Ticket: ticketEvent(tk), CancelledBy: caller.UserID, At: timestamppb.Now()}); err != nil {
			return nil, err
		}
		return queuedSession(tk), nil
	}
	nid, err := uuid.NewV7()
	if err != nil {
		return nil, apperr.Internal("ticket id", err)
	}
	id, fresh, err := q.Tickets.Join(ctx, nid.String(), user, req.GetGameId(), req.GetRegion(), req.GetTeamId())
	if err != nil {
		return nil, err
	}
	tk, err := q.Tickets.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if fresh {
		if err := q.publish(ctx, tk.ID, &eventspb.MatchSearching{Ticket: ticketEvent(tk), At: timestamppb.Now()}); err != nil {
			// Without its event the ticket would be a search nobody can
			// see on the log: take it back, the client retries.
			_, _ = q.Tickets.Cancel(context.WithoutCancel(ctx), req.GetGameId(), user)
			return nil, err
		}
	}
	return queuedSession(tk), nil
}

func (q *Queue) publish(ctx context.Context, ticket string, m proto.Message) error {
	return publish(ctx, q.Outbox, q.Topic, ticket, m)
}

func publish(ctx context.Context, ob *outbox.Outbox, topic, ticket string, ms ...proto.Message) error {
	events := make([]eventlog.Event, len(ms))
	for i, m := range ms {
		events[i] = eventlog.Event{Topic: topic, Key: ticket, Subject: "ticket/" + ticket, Source: source, Message: m}
	}
	_, err := ob.Publish(ctx, events...)
	return err
}

// queuedSession is how a ticket looks to clients: a session in
// STATE_QUEUED whose id is the ticket id.
func queuedSession(tk Ticket) *gamepb.Session {
	s := &gamepb.Session{Id: tk.ID, GameId: tk.Game, State: gamepb.GameState_STATE_QUEUED}
	if tk.Region != stdpb.RegionEnum_REGION_UNSPECIFIED {
		r := tk.Region
		s.Region = &r
	}
	return s
}

// QueuedSession is queuedSession for the query side (WatchQueue).
func QueuedSession(tk Ticket) *gamepb.Session { return queuedSession(tk) }

func ticketEvent(tk Ticket) *eventspb.MatchTicket {
	return &eventspb.MatchTicket{TicketId: tk.ID, PlayerId: tk.Player, GameId: tk.Game, Region: tk.Region,
		TeamId: tk.Team, QueuedAt: timestamppb.New(tk.Queued.Truncate(time.Millisecond))}
}
