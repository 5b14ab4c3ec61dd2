package session

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	stdpb "github.com/oof-gg/platform/api/gen/v1/std"
	"github.com/oof-gg/platform/pkg/apperr"
	"github.com/oof-gg/platform/pkg/validate/validatetest"
)

const gameID = "0190a6c2-7c3e-7000-8000-000000000001"

func strAttr(s string) *gamepb.GameAttribute {
	return &gamepb.GameAttribute{Value: &gamepb.GameAttribute_StringValue{StringValue: s}}
}

func fieldsOf(err error) []string {
	ae, ok := err.(*apperr.Error)
	if !ok {
		return nil
	}
	var out []string
	for _, f := range ae.Fields {
		out = append(out, f.Field)
	}
	return out
}

func TestCheckCreateRefusesWhatCannotBeStored(t *testing.T) {
	maxUsers := make([]string, maxUsersInRequest)
	for i := range maxUsers {
		maxUsers[i] = fmt.Sprintf("%064d", i)
	}
	cases := []struct {
		name   string
		mutate func(*gamepb.SessionCreate)
		fields []string // nil: accepted
	}{
		{"no user_ids (host only)", func(*gamepb.SessionCreate) {}, nil},
		{"empty user_ids", func(r *gamepb.SessionCreate) { r.UserIds = []string{} }, nil},
		{"most users, longest ids", func(r *gamepb.SessionCreate) { r.UserIds = maxUsers }, nil},
		{"4-byte and last code points", func(r *gamepb.SessionCreate) { r.UserIds = []string{"🎮\U0010ffff\uffff"} }, nil},
		{"user id with NUL", func(r *gamepb.SessionCreate) { r.UserIds = []string{"ok", "a\x00b"} }, []string{"user_ids[1]"}},
		{"user id of invalid UTF-8", func(r *gamepb.SessionCreate) { r.UserIds = []string{"\xff"} }, []string{"user_ids[0]"}},
		{"user id of 65 bytes", func(r *gamepb.SessionCreate) { r.UserIds = []string{strings.Repeat("é", 32) + "x"} }, []string{"user_ids[0]"}},
		{"empty user id", func(r *gamepb.SessionCreate) { r.UserIds = []string{""} }, []string{"user_ids[0]"}},
		{"user listed twice", func(r *gamepb.SessionCreate) { r.UserIds = []string{"u", "u"} }, []string{"user_ids[1]"}},
		{"too many users", func(r *gamepb.SessionCreate) { r.UserIds = append(maxUsers, "x") }, []string{"user_ids"}},
		{"attribute value with NUL", func(r *gamepb.SessionCreate) {
			r.Attributes = map[string]*gamepb.GameAttribute{"k": strAttr("\x00")}
		}, []string{"attributes[k]"}},
		{"attribute key with NUL", func(r *gamepb.SessionCreate) {
			r.Attributes = map[string]*gamepb.GameAttribute{"k\x00": strAttr("v")}
		}, []string{"attributes"}},
		{"attribute value of 1024 bytes", func(r *gamepb.SessionCreate) {
			r.Attributes = map[string]*gamepb.GameAttribute{strings.Repeat("k", maxAttrKeyLen): strAttr(strings.Repeat("\U0001f3ae", 256))}
		}, nil},
		{"attribute without value", func(r *gamepb.SessionCreate) {
			r.Attributes = map[string]*gamepb.GameAttribute{"k": {}}
		}, []string{"attributes[k]"}},
		{"data with invalid UTF-8 in a JSON string", func(r *gamepb.SessionCreate) { r.Data = proto.String("\"\xff\"") }, []string{"data"}},
		{"data with escaped NUL", func(r *gamepb.SessionCreate) { r.Data = proto.String(`{"a":"\u0000"}`) }, nil},
		{"unknown region", func(r *gamepb.SessionCreate) { r.Region = stdpb.RegionEnum(999).Enum() }, []string{"region"}},
		{"created finished", func(r *gamepb.SessionCreate) { r.State = gamepb.GameState_STATE_FINISHED }, []string{"state"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := &gamepb.SessionCreate{GameId: gameID}
			tc.mutate(req)
			err := checkCreate(req)
			if tc.fields == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				validatetest.RequireStorable(t, req)
				return
			}
			validatetest.RequireRefusal(t, err)
			if got := fieldsOf(err); !slices.Equal(got, tc.fields) {
				t.Fatalf("refused fields %v, want %v", got, tc.fields)
			}
		})
	}
}

// FuzzCreateSessionInput: whatever arrives (a decoded wire message, then
// fields the fuzzer sets directly, which may be invalid UTF-8 as no decoder
// would allow), validation never panics, a refusal is a well-formed
// INVALID_ARGUMENT, and an accepted request is storable text throughout.
func FuzzCreateSessionInput(f *testing.F) {
	seed := func(r *gamepb.SessionCreate) []byte {
		b, err := proto.Marshal(r)
		if err != nil {
			f.Fatal(err)
		}
		return b
	}
	f.Add(seed(&gamepb.SessionCreate{GameId: gameID}), "", "", "", "")
	f.Add(seed(&gamepb.SessionCreate{GameId: gameID, UserIds: []string{"a", "b"}, State: gamepb.GameState_STATE_STARTED,
		Attributes: map[string]*gamepb.GameAttribute{"map": strAttr("dust")}, Region: stdpb.RegionEnum_EU_WEST.Enum(),
		Data: proto.String(`{"seed":42}`)}), "u\x00", "k", "v", `{"x":"\u0000"}`)
	f.Add([]byte{}, "\xed\xa0\x80", "\x00", "\xff", "\"\xff\"")
	f.Add(seed(&gamepb.SessionCreate{GameId: "not-an-id", State: 99}), "🎮", "\U0010ffff", strings.Repeat("x", 1025), "[]")
	f.Fuzz(func(t *testing.T, wire []byte, userID, attrKey, attrValue, data string) {
		req := &gamepb.SessionCreate{}
		if proto.Unmarshal(wire, req) != nil {
			req = &gamepb.SessionCreate{GameId: gameID}
		}
		if userID != "" {
			req.UserIds = append(req.UserIds, userID)
		}
		if attrKey != "" || attrValue != "" {
			if req.Attributes == nil {
				req.Attributes = map[string]*gamepb.GameAttribute{}
			}
			req.Attributes[attrKey] = strAttr(attrValue)
		}
		if data != "" {
			req.Data = &data
		}
		if err := checkCreate(req); err != nil {
			validatetest.RequireRefusal(t, err)
			return
		}
		validatetest.RequireStorable(t, req, &gamepb.Session{
			Id: gameID, GameId: req.GetGameId(), UserIds: req.GetUserIds(), State: req.GetState(),
			Attributes: req.GetAttributes(), Region: req.Region, Data: req.Data,
		})
	})
}
