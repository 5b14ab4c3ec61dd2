package live

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	"github.com/oof-gg/platform/pkg/apperr"
	"github.com/oof-gg/platform/pkg/validate/validatetest"
)

const sessionID = "0190a0b1-2c3d-7e4f-8a9b-0c1d2e3f4a5b"

func str(v string) *gamepb.GameEvent_EventAttribute {
	return &gamepb.GameEvent_EventAttribute{Value: &gamepb.GameEvent_EventAttribute_StringValue{StringValue: v}}
}

func TestCheckEvent(t *testing.T) {
	ok := func() *gamepb.GameEvent {
		return &gamepb.GameEvent{SessionId: proto.String(sessionID), EventName: proto.String("move"),
			Type: gamepb.GameEvent_TYPE_ACTION, Attributes: map[string]*gamepb.GameEvent_EventAttribute{"x": str("1")}}
	}
	cases := []struct {
		name  string
		edit  func(*gamepb.GameEvent)
		field string
		kind  apperr.Kind
	}{
		{"valid", func(*gamepb.GameEvent) {}, "", 0},
		{"client id", func(e *gamepb.GameEvent) { e.Id = proto.String("c-1:a.b_c") }, "", 0},
		{"no session", func(e *gamepb.GameEvent) { e.SessionId = nil }, "session_id", apperr.KindInvalid},
		{"bad session", func(e *gamepb.GameEvent) { e.SessionId = proto.String("x") }, "session_id", apperr.KindInvalid},
		{"empty id", func(e *gamepb.GameEvent) { e.Id = proto.String("") }, "id", apperr.KindInvalid},
		{"id with space", func(e *gamepb.GameEvent) { e.Id = proto.String("a b") }, "id", apperr.KindInvalid},
		{"long id", func(e *gamepb.GameEvent) { e.Id = proto.String(strings.Repeat("a", 65)) }, "id", apperr.KindInvalid},
		{"bad game", func(e *gamepb.GameEvent) { e.GameId = proto.String("g") }, "game_id", apperr.KindInvalid},
		{"NUL name", func(e *gamepb.GameEvent) { e.EventName = proto.String("a\x00") }, "event_name", apperr.KindInvalid},
		{"unknown type", func(e *gamepb.GameEvent) { e.Type = 42 }, "type", apperr.KindInvalid},
		{"bad data", func(e *gamepb.GameEvent) { e.Data = proto.String("{") }, "data", apperr.KindInvalid},
		{"bad attr value", func(e *gamepb.GameEvent) { e.Attributes["x"] = str("\xff") }, "attributes[x]", apperr.KindInvalid},
		{"too large", func(e *gamepb.GameEvent) { e.Data = proto.String(`"` + strings.Repeat("x", 20_000) + `"`) }, "", apperr.KindResourceExhausted},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ev := ok()
			tc.edit(ev)
			err := CheckEvent(ev, 16<<10)
			if tc.kind == 0 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if got := apperr.KindOf(err); got != tc.kind {
				t.Fatalf("kind = %v, want %v (%v)", got, tc.kind, err)
			}
			if tc.field != "" && !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("error %q does not name %s", err, tc.field)
			}
		})
	}
}

// FuzzLiveEventInput: whatever a client sends, validation never panics, a
// refusal is a well-formed status, and an accepted event is storable text
// throughout (it is echoed to every member and kept on the log).
func FuzzLiveEventInput(f *testing.F) {
	seed := func(e *gamepb.GameEvent) []byte {
		b, err := proto.Marshal(e)
		if err != nil {
			f.Fatal(err)
		}
		return b
	}
	f.Add(seed(&gamepb.GameEvent{SessionId: proto.String(sessionID)}), "", "", "")
	f.Add(seed(&gamepb.GameEvent{SessionId: proto.String(sessionID), Id: proto.String("e-1"), Type: 3,
		Data: proto.String(`{"a":1}`)}), "name", "k", "v")
	f.Add([]byte{}, "\xed\xa0\x80", "\x00", "\xff")
	f.Fuzz(func(t *testing.T, wire []byte, name, key, value string) {
		ev := &gamepb.GameEvent{}
		if proto.Unmarshal(wire, ev) != nil {
			ev = &gamepb.GameEvent{SessionId: proto.String(sessionID)}
		}
		if name != "" {
			ev.EventName = &name
		}
		if key != "" || value != "" {
			if ev.Attributes == nil {
				ev.Attributes = map[string]*gamepb.GameEvent_EventAttribute{}
			}
			ev.Attributes[key] = str(value)
		}
		err := CheckEvent(ev, 16<<10)
		if apperr.KindOf(err) == apperr.KindResourceExhausted {
			return
		}
		if err != nil {
			validatetest.RequireRefusal(t, err)
			return
		}
		validatetest.RequireStorable(t, ev)
	})
}
