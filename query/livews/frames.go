package livews

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"google.golang.org/protobuf/proto"

	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	"github.com/oof-gg/platform/pkg/apperr"
)

// inFrame is what a client may send: the SDK's frame shape (type,
// instance_id, data) plus an optional client event id (for retries that
// must not publish twice). Any other field is an unknown shape.
type inFrame struct {
	Type       *string         `json:"type"`
	InstanceID *string         `json:"instance_id"`
	Data       json.RawMessage `json:"data"`
	ID         *string         `json:"id"`
	Error      *string         `json:"error"` // the server's; known so it is named in the refusal
}

// outFrame is what the server sends: the SDK's shape plus the event's id
// (what ?after= resumes from), sender and time, which the SDK passes to
// the handlers with the rest of the frame.
type outFrame struct {
	Type       string          `json:"type"`
	InstanceID string          `json:"instance_id,omitempty"`
	Data       json.RawMessage `json:"data,omitempty"`
	Error      string          `json:"error,omitempty"`
	Code       string          `json:"code,omitempty"`
	Ref        string          `json:"ref,omitempty"`
	ID         string          `json:"id,omitempty"`
	PlayerID   string          `json:"player_id,omitempty"`
	TeamID     string          `json:"team_id,omitempty"`
	Timestamp  int64           `json:"timestamp,omitempty"`
}

// Frame types the gateway itself speaks.
const (
	typeSubscribe  = "subscribe"
	typeSubscribed = "subscribed"
	typeError      = "error"
)

// frame is one decoded client frame: a subscription or an event.
type frame struct {
	subscribe string            // the session to subscribe to, or ""
	event     *gamepb.GameEvent // an event to publish (no session id yet)
}

// errMalformed marks a frame that is not a frame at all (bad JSON, unknown
// shape): a strike against the client.
var errMalformed = errors.New("malformed frame")

// decodeFrame parses one text frame. Errors are apperr INVALID_ARGUMENT
// wrapping errMalformed, safe to send back.
func decodeFrame(b []byte) (frame, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var f inFrame
	if err := dec.Decode(&f); err != nil {
		return frame{}, malformed("not a frame: %s", jsonProblem(err))
	}
	if dec.More() {
		return frame{}, malformed("one JSON object per frame")
	}
	if f.Type == nil || *f.Type == "" {
		return frame{}, malformed(`a frame needs a "type"`)
	}
	switch *f.Type {
	case typeError, typeSubscribed:
		return frame{}, malformed("%q frames are sent by the server only", *f.Type)
	}
	if f.Error != nil {
		return frame{}, malformed(`"error" is sent by the server only`)
	}
	switch *f.Type {
	case typeSubscribe:
		if f.InstanceID == nil || *f.InstanceID == "" {
			return frame{}, malformed(`"subscribe" needs "instance_id" (the session id)`)
		}
		if len(f.Data) > 0 || f.ID != nil {
			return frame{}, malformed(`"subscribe" takes only "instance_id"`)
		}
		return frame{subscribe: *f.InstanceID}, nil
	}
	if f.InstanceID != nil {
		return frame{}, malformed(`"instance_id" belongs in "subscribe" frames only`)
	}
	ev := &gamepb.GameEvent{EventName: proto.String(*f.Type), Type: gamepb.GameEvent_TYPE_ACTION, Id: f.ID}
	if len(f.Data) > 0 && !bytes.Equal(f.Data, []byte("null")) {
		var buf bytes.Buffer
		if err := json.Compact(&buf, f.Data); err != nil {
			return frame{}, malformed("data: %s", jsonProblem(err))
		}
		ev.Data = proto.String(buf.String())
	}
	return frame{event: ev}, nil
}

func malformed(format string, args ...any) error {
	return &apperr.Error{Kind: apperr.KindInvalid, Message: fmt.Sprintf(format, args...), Cause: errMalformed}
}

// jsonProblem is a short, client-safe description of a decoding error.
func jsonProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("invalid JSON at byte %d", syn.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("%q must be a JSON %s", typ.Field, wantType(typ.Field))
	default:
		// Unknown fields and truncated input: the decoder's text names
		// only the field.
		return err.Error()
	}
}

func wantType(field string) string {
	if field == "data" {
		return "value"
	}
	return "string"
}

// eventFrame is how a session event reaches a WebSocket member.
func eventFrame(ev *gamepb.GameEvent) []byte {
	f := outFrame{Type: ev.GetEventName(), ID: ev.GetId(), PlayerID: ev.GetPlayerId(),
		TeamID: ev.GetTeamId(), Timestamp: ev.GetTimestamp()}
	if ev.Data != nil {
		if json.Valid([]byte(ev.GetData())) {
			f.Data = json.RawMessage(ev.GetData())
		} else {
			// Publish only lets JSON through; should anything else be on
			// the stream, it still reaches the client as a string.
			f.Data, _ = json.Marshal(ev.GetData())
		}
	}
	return encode(f)
}

// errorFrame answers a refused frame; ref is the refused event's id.
func errorFrame(err error, ref string) []byte {
	st := apperr.ToStatus(err)
	return encode(outFrame{Type: typeError, Error: st.Message(), Code: st.Code().String(), Ref: ref})
}

func subscribedFrame(sessionID string) []byte {
	return encode(outFrame{Type: typeSubscribed, InstanceID: sessionID})
}

func encode(f outFrame) []byte {
	b, err := json.Marshal(f)
	if err != nil { // only RawMessage could fail, and it is valid JSON
		b, _ = json.Marshal(outFrame{Type: typeError, Error: "unencodable event"})
	}
	return b
}

func itoa(n int) string { return strconv.Itoa(n) }
