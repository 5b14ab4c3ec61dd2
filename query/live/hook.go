package live

import (
	"context"

	"github.com/google/uuid"

	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	"github.com/oof-gg/platform/pkg/apperr"
	"github.com/oof-gg/platform/pkg/auth"
)

// ConnInfo is one open conn into a session's events, as its gateway (the
// gRPC streams here, the WebSocket gateway) knows it.
type ConnInfo struct {
	ID string // unique per conn: NewConnID

	Caller    auth.Principal
	SessionID string
	GameID    string
	// Instance: the conn is InstanceService.StreamEvents (a game
	// instance), not a member's GameService stream.
	Instance bool
	// Resumed: the client resumed after an event id, so the events it
	// missed reach it from the window.
	Resumed bool
}

// ConnHook is told of every conn's life (presence, docs/realtime.md). A
// gateway calls Opened once the conn is subscribed to the hub, sends the
// events it returns to that conn before any other, and calls Closed once
// when the conn ends — clean when the client closed its side (gRPC
// CloseSend, a WebSocket close frame), not clean on anything else (a
// cancelled or broken conn, a dropped slow client, an ended login). An
// error from Opened refuses the conn (Closed is then not called).
type ConnHook interface {
	Opened(ctx context.Context, c ConnInfo) ([]*gamepb.GameEvent, error)
	Closed(c ConnInfo, clean bool)
}

// NewConnID returns a fresh conn id (a UUIDv7).
func NewConnID() (string, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return "", apperr.Internal("conn id", err)
	}
	return id.String(), nil
}
