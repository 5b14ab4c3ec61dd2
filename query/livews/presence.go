package livews

import (
	"context"

	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	querylive "github.com/oof-gg/platform/query/live"
)

// hookOpened tells the conn hook (presence) of the subscription just
// opened, and returns the events to send before any other.
func (s *socket) hookOpened(ctx context.Context) ([]*gamepb.GameEvent, error) {
	if s.g.Hook == nil {
		return nil, nil
	}
	id, err := querylive.NewConnID()
	if err != nil {
		return nil, err
	}
	info := querylive.ConnInfo{ID: id, Caller: s.caller, SessionID: s.session, GameID: s.gameID, Resumed: s.resumed}
	greeting, err := s.g.Hook.Opened(ctx, info)
	if err != nil {
		return nil, err
	}
	s.hooked = &info
	return greeting, nil
}
