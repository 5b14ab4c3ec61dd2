package global

import (
	"context"
	"errors"
	"io"
	"time"

	"google.golang.org/grpc"

	commonpb "github.com/oof-gg/platform/api/gen/v1/api/common"
	globalpb "github.com/oof-gg/platform/api/gen/v1/api/global"
	commandglobal "github.com/oof-gg/platform/command/global"
	"github.com/oof-gg/platform/pkg/apperr"
	"github.com/oof-gg/platform/pkg/auth"
	"github.com/oof-gg/platform/pkg/authz"
	"github.com/oof-gg/platform/pkg/grpcx"
)

// Publisher is the inbound command (command/global).
type Publisher interface {
	Publish(ctx context.Context, caller auth.Principal, ev *globalpb.GlobalEvent) (commandglobal.Result, error)
}

// Connected is the name of the first event on every global stream.
const Connected = "connected"

// Stream serves GlobalService.StreamEvents: every signed-in client
// receives the global events published while it is connected; what a
// client sends is published through the command (admins and services
// only).
type Stream struct {
	commonpb.UnimplementedGlobalServiceServer
	Hub       *Hub
	Publisher Publisher
	// Online, when set, counts the client online while its stream is
	// open (query/presence).
	Online OnlineKeeper
	Now    func() time.Time
}

// OnlineKeeper marks a user online until stop is called.
type OnlineKeeper interface {
	KeepOnline(ctx context.Context, userID string) (stop func())
}

// Mount adds the stream to services.
func (s *Stream) Mount(svcs *grpcx.Services) {
	svcs.Add(&commonpb.GlobalService_ServiceDesc, s, "StreamEvents")
}

type stream = grpc.BidiStreamingServer[globalpb.GlobalEvent, globalpb.GlobalEvent]

// StreamEvents runs one client's stream. Its first event is "connected"
// (type EVENT, the server's clock in timestamp): from then on the client
// receives every global event. A refused event does not end the stream:
// its sender gets an "error" event (type ALERT, attributes code, message,
// ref).
func (s *Stream) StreamEvents(st commonpb.GlobalService_StreamEventsServer) error {
	ctx := st.Context()
	caller, err := authz.Caller(ctx)
	if err != nil {
		return err
	}
	conn, err := s.Hub.Subscribe(ctx)
	if err != nil {
		return err
	}
	defer s.Hub.Leave(conn)
	if s.Online != nil {
		defer s.Online.KeepOnline(ctx, caller.UserID)()
	}
	hello := &globalpb.GlobalEvent{EventName: Connected, Type: globalpb.GlobalEvent_EVENT, Timestamp: s.Now().UnixMilli()}
	if err := st.Send(hello); err != nil {
		return err
	}

	refusals := make(chan *globalpb.GlobalEvent, 16)
	received := make(chan error, 1)
	go func() { received <- s.receive(ctx, st, caller, refusals) }()
	for {
		select {
		case ev := <-conn.C():
			if err := st.Send(ev); err != nil {
				return err
			}
		case ev := <-refusals:
			if err := st.Send(ev); err != nil {
				return err
			}
		case <-conn.Done():
			return conn.Err()
		case err := <-received:
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// receive publishes what the client sends until the stream ends.
func (s *Stream) receive(ctx context.Context, st stream, caller auth.Principal, refusals chan<- *globalpb.GlobalEvent) error {
	for {
		ev, err := st.Recv()
		if err != nil {
			return err
		}
		if _, err := s.Publisher.Publish(ctx, caller, ev); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			select {
			case refusals <- ErrorEvent(err, ev.GetId(), s.Now()):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
}

// ErrorEvent is how a refused event is answered on an open global stream.
func ErrorEvent(err error, ref string, now time.Time) *globalpb.GlobalEvent {
	st := apperr.ToStatus(err)
	str := func(v string) *globalpb.GlobalEvent_EventAttribute {
		return &globalpb.GlobalEvent_EventAttribute{Value: &globalpb.GlobalEvent_EventAttribute_StringValue{StringValue: v}}
	}
	return &globalpb.GlobalEvent{
		EventName: "error",
		Type:      globalpb.GlobalEvent_ALERT,
		Timestamp: now.UnixMilli(),
		Attributes: map[string]*globalpb.GlobalEvent_EventAttribute{
			"code":    {Value: &globalpb.GlobalEvent_EventAttribute_IntValue{IntValue: int32(st.Code())}},
			"message": str(st.Message()),
			"ref":     str(ref),
		},
	}
}
