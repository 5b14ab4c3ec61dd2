package livews

import (
	"errors"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
)

func TestDecodeFrame(t *testing.T) {
	for _, tc := range []struct {
		name, in  string
		subscribe string
		event     *gamepb.GameEvent
		err       string
	}{
		{name: "subscribe", in: `{"type":"subscribe","instance_id":"s1"}`, subscribe: "s1"},
		{name: "event with data", in: `{"type":"UPDATE_PADDLE","data":{ "x": 1, "y" : 2 }}`,
			event: &gamepb.GameEvent{EventName: proto.String("UPDATE_PADDLE"), Type: gamepb.GameEvent_TYPE_ACTION, Data: proto.String(`{"x":1,"y":2}`)}},
		{name: "event with id, null data", in: `{"type":"go","id":"e-1","data":null}`,
			event: &gamepb.GameEvent{EventName: proto.String("go"), Type: gamepb.GameEvent_TYPE_ACTION, Id: proto.String("e-1")}},
		{name: "scalar data", in: `{"type":"go","data":"up"}`,
			event: &gamepb.GameEvent{EventName: proto.String("go"), Type: gamepb.GameEvent_TYPE_ACTION, Data: proto.String(`"up"`)}},
		{name: "bad JSON", in: `{"type":`, err: "not a frame"},
		{name: "array", in: `[]`, err: "not a frame"},
		{name: "no type", in: `{}`, err: `needs a "type"`},
		{name: "empty type", in: `{"type":""}`, err: `needs a "type"`},
		{name: "unknown field", in: `{"type":"go","player_id":"x"}`, err: "unknown field"},
		{name: "trailing object", in: `{"type":"go"} {}`, err: "one JSON object"},
		{name: "subscribe without id", in: `{"type":"subscribe"}`, err: "instance_id"},
		{name: "subscribe with data", in: `{"type":"subscribe","instance_id":"s","data":1}`, err: "only"},
		{name: "instance_id on an event", in: `{"type":"go","instance_id":"s"}`, err: "subscribe"},
		{name: "error frame", in: `{"type":"error"}`, err: "server only"},
		{name: "error field", in: `{"type":"go","error":"x"}`, err: "server only"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := decodeFrame([]byte(tc.in))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.Is(err, errMalformed) {
					t.Fatalf("err = %v, want malformed with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if f.subscribe != tc.subscribe || !proto.Equal(f.event, tc.event) {
				t.Fatalf("got %q %v, want %q %v", f.subscribe, f.event, tc.subscribe, tc.event)
			}
		})
	}
}

func TestEventFrame(t *testing.T) {
	ev := &gamepb.GameEvent{EventName: proto.String("STATE_UPDATE"), Id: proto.String("e1"), PlayerId: proto.String("p"),
		Timestamp: 5, Data: proto.String(`{"ball":[1,2]}`)}
	want := `{"type":"STATE_UPDATE","data":{"ball":[1,2]},"id":"e1","player_id":"p","timestamp":5}`
	if got := string(eventFrame(ev)); got != want {
		t.Fatalf("got %s\nwant %s", got, want)
	}
	ev.Data = proto.String("not json")
	if got := string(eventFrame(ev)); !strings.Contains(got, `"data":"not json"`) {
		t.Fatalf("non-JSON data: %s", got)
	}
}
