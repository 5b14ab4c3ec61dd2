package live

import (
	"fmt"

	"google.golang.org/protobuf/proto"

	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	"github.com/oof-gg/platform/pkg/apperr"
	"github.com/oof-gg/platform/pkg/validate"
)

// Limits of one event's fields (its whole size is bounded by
// OOF_LIVE_MAX_EVENT_BYTES on top). Global events share them.
const (
	maxIDLen         = 64
	MaxNameLen       = 64
	MaxAttributes    = 64
	MaxAttrKeyLen    = 64
	MaxAttrStringLen = 1024
)

// CheckEvent validates what a client may set in a live event. The fields
// the server fills (timestamp, player_id, game_id when unset) are not
// checked: they are overwritten.
func CheckEvent(ev *gamepb.GameEvent, maxBytes int) error {
	if ev == nil {
		return apperr.Invalid("event", "is required")
	}
	if n := proto.Size(ev); n > maxBytes {
		return apperr.ResourceExhausted(fmt.Sprintf("event too large: %d bytes, at most %d", n, maxBytes), 0)
	}
	var c validate.Checks
	c.ID("session_id", ev.GetSessionId())
	if ev.Id != nil {
		CheckEventID(&c, ev.GetId())
	}
	if ev.GameId != nil {
		c.ID("game_id", ev.GetGameId())
	}
	if ev.EventName != nil {
		c.Text("event_name", ev.GetEventName(), 1, MaxNameLen)
	}
	if ev.TeamId != nil {
		c.Text("team_id", ev.GetTeamId(), 1, MaxNameLen)
	}
	if _, ok := gamepb.GameEvent_EventType_name[int32(ev.GetType())]; !ok {
		c.Add("type", "must be one of the EventType values")
	}
	if len(ev.GetAttributes()) > MaxAttributes {
		c.Add("attributes", fmt.Sprintf("at most %d attributes", MaxAttributes))
	}
	for k, v := range ev.GetAttributes() {
		c.Text("attributes key", k, 1, MaxAttrKeyLen)
		if s, ok := v.GetValue().(*gamepb.GameEvent_EventAttribute_StringValue); ok {
			c.Text("attributes["+safeKey(k)+"]", s.StringValue, 0, MaxAttrStringLen)
		}
	}
	c.JSON("data", ev.Data)
	return c.Err()
}

// CheckEventID: a client's own id is 1–64 characters of [A-Za-z0-9._:-]
// (a UUID fits): it becomes part of a Redis key and is echoed to others.
func CheckEventID(c *validate.Checks, id string) {
	ok := len(id) >= 1 && len(id) <= maxIDLen
	for i := 0; ok && i < len(id); i++ {
		b := id[i]
		ok = b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '.' || b == '_' || b == ':' || b == '-'
	}
	if !ok {
		c.Add("id", fmt.Sprintf("must be 1 to %d characters of letters, digits and . _ : - (e.g. a UUID)", maxIDLen))
	}
}

// safeKey is a key fit to be named in an error (the key itself may be the
// problem).
func safeKey(k string) string {
	if !validate.Storable(k) || len(k) > MaxAttrKeyLen {
		return "?"
	}
	return k
}
