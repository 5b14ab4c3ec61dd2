// Package matchmaking serves GameService.WatchQueue: the stream of a queued
// player's ticket until it is placed into a started session.
package matchmaking

import (
	"context"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	commonpb "github.com/oof-gg/platform/api/gen/v1/api/common"
	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	cmdmatch "github.com/oof-gg/platform/command/matchmaking"
	"github.com/oof-gg/platform/pkg/apperr"
	"github.com/oof-gg/platform/pkg/authz"
	"github.com/oof-gg/platform/pkg/grpcx"
	"github.com/oof-gg/platform/pkg/respond"
	"github.com/oof-gg/platform/pkg/validate"
	querysession "github.com/oof-gg/platform/query/session"
)

// Watcher streams tickets.
type Watcher struct {
	Tickets  *cmdmatch.Tickets
	Sessions *querysession.Reader
	Poll     time.Duration // how often the ticket is read (and heartbeated); default 250ms
}

// GRPC serves WatchQueue.
type GRPC struct {
	commonpb.UnimplementedGameServiceServer
	w *Watcher
}

// NewGRPC returns the adapter.
func NewGRPC(w *Watcher) *GRPC { return &GRPC{w: w} }

// Mount adds WatchQueue to services.
func (g *GRPC) Mount(s *grpcx.Services) {
	s.Add(&commonpb.GameService_ServiceDesc, g, "WatchQueue")
}

// WatchQueue takes the queued session JoinLeave answered (its id is the
// ticket id) and sends the ticket's session each time it changes: queued,
// then the session it was placed into, until that session has started
// (then the stream ends OK). While open it is the ticket's heartbeat. An
// expired or unknown ticket ends it NOT_FOUND, a cancelled one CANCELLED.
func (g *GRPC) WatchQueue(req *gamepb.Session, stream grpc.ServerStreamingServer[gamepb.Session]) error {
	if err := g.w.watch(stream.Context(), req, stream.Send); err != nil {
		return respond.GameError(err)
	}
	return nil
}

func (w *Watcher) watch(ctx context.Context, req *gamepb.Session, send func(*gamepb.Session) error) error {
	caller, err := authz.Caller(ctx)
	if err != nil {
		return err
	}
	var c validate.Checks
	c.ID("id", req.GetId())
	if err := c.Err(); err != nil {
		return err
	}
	tk, err := w.Tickets.Get(ctx, req.GetId())
	if err != nil {
		return err
	}
	if tk.Player != caller.UserID && !authz.IsAdmin(caller) && !authz.IsService(caller) {
		return authz.Denied("watch another player's ticket")
	}
	poll := w.Poll
	if poll <= 0 {
		poll = 250 * time.Millisecond
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	var last *gamepb.Session
	emit := func(s *gamepb.Session) error {
		if last != nil && proto.Equal(last, s) {
			return nil
		}
		last = s
		return send(s)
	}
	for {
		state, err := w.Tickets.Heartbeat(ctx, tk.ID)
		if err != nil {
			return err
		}
		switch state {
		case "", cmdmatch.StateExpired:
			return apperr.NotFound("ticket expired: no match was found in time; JOIN again")
		case cmdmatch.StateCancelled:
			return status.Error(codes.Canceled, "ticket cancelled: the player left the queue")
		case cmdmatch.StateQueued, cmdmatch.StateClaimed:
			if err := emit(cmdmatch.QueuedSession(tk)); err != nil {
				return err
			}
		case cmdmatch.StateMatched:
			done, err := w.placed(ctx, tk.ID, emit)
			if err != nil || done {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// placed sends the session a matched ticket went to, once the read model
// shows it; done when it has started (or already ended).
func (w *Watcher) placed(ctx context.Context, ticket string, emit func(*gamepb.Session) error) (bool, error) {
	tk, err := w.Tickets.Get(ctx, ticket)
	if err != nil {
		return false, err
	}
	s, err := w.Sessions.Get(ctx, tk.Session)
	if apperr.Is(err, apperr.KindNotFound) {
		return false, nil // the projector is behind: next poll
	}
	if err != nil {
		return false, err
	}
	if err := emit(s); err != nil {
		return false, err
	}
	switch s.GetState() {
	case gamepb.GameState_STATE_STARTED, gamepb.GameState_STATE_PAUSED,
		gamepb.GameState_STATE_FINISHED, gamepb.GameState_STATE_DELETED:
		return true, nil
	}
	return false, nil
}
