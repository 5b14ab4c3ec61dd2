package live

import (
	"context"
	"errors"
	"io"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	commonpb "github.com/oof-gg/platform/api/gen/v1/api/common"
	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	commandlive "github.com/oof-gg/platform/command/live"
	"github.com/oof-gg/platform/pkg/apperr"
	"github.com/oof-gg/platform/pkg/auth"
	"github.com/oof-gg/platform/pkg/authz"
	"github.com/oof-gg/platform/pkg/grpcx"
	"github.com/oof-gg/platform/pkg/headers"
	"github.com/oof-gg/platform/pkg/validate"
)

// Publisher is the inbound command (command/live).
type Publisher interface {
	Publish(ctx context.Context, caller auth.Principal, ev *gamepb.GameEvent) (commandlive.Result, error)
	CheckMember(ctx context.Context, caller auth.Principal, sessionID string) (string, error)
	IsInstance(ctx context.Context, caller auth.Principal, sessionID string) (bool, error)
}

// Streams serves GameService.StreamEvents and InstanceService.StreamEvents:
// a thin gateway that publishes what a member sends through the command
// and streams the session's events from the hub.
type Streams struct {
	Hub       *Hub
	Publisher Publisher
	// Hook, when set, is told of each stream's life (presence).
	Hook ConnHook
}

type gameStreams struct {
	commonpb.UnimplementedGameServiceServer
	s *Streams
}

type instanceStreams struct {
	commonpb.UnimplementedInstanceServiceServer
	s *Streams
}

// Mount adds both streams to services.
func (s *Streams) Mount(svcs *grpcx.Services) {
	svcs.Add(&commonpb.GameService_ServiceDesc, gameStreams{s: s}, "StreamEvents")
	svcs.Add(&commonpb.InstanceService_ServiceDesc, instanceStreams{s: s}, "StreamEvents")
}

func (g gameStreams) StreamEvents(st commonpb.GameService_StreamEventsServer) error {
	return g.s.serve(st, false)
}

func (g instanceStreams) StreamEvents(st commonpb.InstanceService_StreamEventsServer) error {
	return g.s.serve(st, true)
}

type stream = grpc.BidiStreamingServer[gamepb.GameEvent, gamepb.GameEvent]

// serve runs one member's stream. The first message picks the session (its
// session_id); when it carries more than the session (a name, type,
// attributes or data) it is also published. Refused events do not end the
// stream: their sender gets a TYPE_SYSTEM "error" event.
func (s *Streams) serve(st stream, instance bool) error {
	ctx := st.Context()
	caller, err := authz.Caller(ctx)
	if err != nil {
		return err
	}
	first, err := st.Recv()
	if err != nil {
		return err
	}
	sessionID := first.GetSessionId()
	if !validID(sessionID) {
		return apperr.Invalid("session_id", "the first message must name the session (a UUID)")
	}
	gameID, err := s.Publisher.CheckMember(ctx, caller, sessionID)
	if err != nil {
		return err
	}
	if instance {
		ok, err := s.Publisher.IsInstance(ctx, caller, sessionID)
		if err != nil {
			return err
		}
		if !ok {
			return authz.Denied("open an instance stream (game instances only: the service role or the game's owner)")
		}
	}
	after := resumeAfter(ctx)
	conn, err := s.Hub.Subscribe(ctx, sessionID, after)
	if err != nil {
		return err
	}
	defer s.Hub.Leave(sessionID, conn)
	greeting, clean, err := s.opened(ctx, ConnInfo{Caller: caller, SessionID: sessionID, GameID: gameID,
		Instance: instance, Resumed: after != ""})
	if err != nil {
		return err
	}
	defer clean.report()

	refusals := make(chan *gamepb.GameEvent, 16)
	received := make(chan error, 1)
	go func() { received <- s.receive(ctx, st, caller, sessionID, first, refusals) }()

	for _, ev := range greeting {
		if err := st.Send(ev); err != nil {
			return err
		}
	}
	for _, e := range conn.Backlog {
		if conn.Fresh(e) {
			if err := st.Send(e.Event); err != nil {
				return err
			}
		}
	}
	for {
		select {
		case e := <-conn.C():
			if conn.Fresh(e) {
				if err := st.Send(e.Event); err != nil {
					return err
				}
			}
		case ev := <-refusals:
			if err := st.Send(ev); err != nil {
				return err
			}
		case <-conn.Done():
			return conn.Err()
		case err := <-received:
			if errors.Is(err, io.EOF) {
				clean.set()
				return nil
			}
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// closing reports a conn's end to the hook once.
type closing struct {
	hook  ConnHook
	info  ConnInfo
	clean bool
}

func (c *closing) set() { c.clean = true }

func (c *closing) report() {
	if c.hook != nil {
		c.hook.Closed(c.info, c.clean)
	}
}

// opened tells the hook of a new conn and returns what to send it first.
func (s *Streams) opened(ctx context.Context, info ConnInfo) ([]*gamepb.GameEvent, *closing, error) {
	if s.Hook == nil {
		return nil, &closing{}, nil
	}
	id, err := NewConnID()
	if err != nil {
		return nil, nil, err
	}
	info.ID = id
	greeting, err := s.Hook.Opened(ctx, info)
	if err != nil {
		return nil, nil, err
	}
	return greeting, &closing{hook: s.Hook, info: info}, nil
}

// receive publishes what the member sends until the stream ends.
func (s *Streams) receive(ctx context.Context, st stream, caller auth.Principal, sessionID string,
	first *gamepb.GameEvent, refusals chan<- *gamepb.GameEvent) error {
	ev := first
	if !carriesEvent(first) {
		ev = nil
	}
	for {
		if ev != nil {
			if ev.SessionId == nil {
				ev.SessionId = proto.String(sessionID)
			}
			if _, err := s.Publisher.Publish(ctx, caller, ev); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				select {
				case refusals <- ErrorEvent(err, ev.GetId(), sessionID):
				case <-ctx.Done():
					return ctx.Err()
				}
			}
		}
		next, err := st.Recv()
		if err != nil {
			return err
		}
		ev = next
	}
}

// carriesEvent: a first message with only ids just picks the session.
func carriesEvent(ev *gamepb.GameEvent) bool {
	return ev.EventName != nil || ev.GetType() != gamepb.GameEvent_TYPE_UNSPECIFIED ||
		len(ev.GetAttributes()) > 0 || ev.Data != nil || ev.TeamId != nil
}

// ErrorEvent is how a refused event is answered on an open stream.
func ErrorEvent(err error, ref, sessionID string) *gamepb.GameEvent {
	st := apperr.ToStatus(err)
	str := func(v string) *gamepb.GameEvent_EventAttribute {
		return &gamepb.GameEvent_EventAttribute{Value: &gamepb.GameEvent_EventAttribute_StringValue{StringValue: v}}
	}
	return &gamepb.GameEvent{
		EventName: proto.String("error"),
		Type:      gamepb.GameEvent_TYPE_SYSTEM,
		SessionId: proto.String(sessionID),
		Attributes: map[string]*gamepb.GameEvent_EventAttribute{
			"code":    {Value: &gamepb.GameEvent_EventAttribute_IntValue{IntValue: int32(st.Code())}},
			"message": str(st.Message()),
			"ref":     str(ref),
		},
	}
}

// resumeAfter is the x-oof-resume-after request header, if any.
func resumeAfter(ctx context.Context) string {
	md, _ := metadata.FromIncomingContext(ctx)
	if v := md.Get(headers.ResumeAfter); len(v) > 0 {
		return v[0]
	}
	return ""
}

func validID(v string) bool {
	var c validate.Checks
	c.ID("session_id", v)
	return len(c) == 0
}
