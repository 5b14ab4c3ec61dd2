package entity

import (
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	"github.com/oof-gg/platform/pkg/apperr"
	"github.com/oof-gg/platform/pkg/validate"
	"github.com/oof-gg/platform/pkg/validate/validatetest"
)

const (
	sessionID = "0190a6c2-7c3e-7000-8000-000000000002"
	gameID    = "0190a6c2-7c3e-7000-8000-000000000001"
)

func strAttr(s string) *gamepb.EntityAttribute {
	return &gamepb.EntityAttribute{Value: &gamepb.EntityAttribute_StringValue{StringValue: s}}
}

func validCreate() *gamepb.EntityCreateRequest {
	return &gamepb.EntityCreateRequest{SessionId: sessionID, GameId: gameID, Name: "crate", Type: "prop"}
}

func TestCheckCreateRefusesWhatCannotBeStored(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*gamepb.EntityCreateRequest)
		fields []string // nil: accepted
	}{
		{"minimal", func(*gamepb.EntityCreateRequest) {}, nil},
		{"longest name in 4-byte characters", func(r *gamepb.EntityCreateRequest) { r.Name = strings.Repeat("\U0001f47e", maxNameLen) }, nil},
		{"combining and RTL marks", func(r *gamepb.EntityCreateRequest) { r.Name = "e\u0301\u202e\u200f\uffff" }, nil},
		{"name with NUL", func(r *gamepb.EntityCreateRequest) { r.Name = "a\x00" }, []string{"name"}},
		{"type of invalid UTF-8", func(r *gamepb.EntityCreateRequest) { r.Type = "\xc0\x80" }, []string{"type"}},
		{"player_id with NUL", func(r *gamepb.EntityCreateRequest) { r.PlayerId = proto.String("\x00") }, []string{"player_id"}},
		{"empty player_id", func(r *gamepb.EntityCreateRequest) { r.PlayerId = proto.String("") }, nil},
		{"attribute value with NUL", func(r *gamepb.EntityCreateRequest) {
			r.Attributes = map[string]*gamepb.EntityAttribute{"hp": strAttr("1\x00")}
		}, []string{"attributes[hp]"}},
		{"attribute key with NUL", func(r *gamepb.EntityCreateRequest) {
			r.Attributes = map[string]*gamepb.EntityAttribute{"\x00": strAttr("v")}
		}, []string{"attributes"}},
		{"data with invalid UTF-8", func(r *gamepb.EntityCreateRequest) { r.Data = proto.String("[\"\xfe\"]") }, []string{"data"}},
		{"unknown controller", func(r *gamepb.EntityCreateRequest) { r.Controller = 7 }, []string{"controller"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := validCreate()
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
			var got []string
			for _, f := range err.(*apperr.Error).Fields {
				got = append(got, f.Field)
			}
			if !slices.Equal(got, tc.fields) {
				t.Fatalf("refused fields %v, want %v", got, tc.fields)
			}
		})
	}
}

func TestCheckUpdateValuesRefusesNUL(t *testing.T) {
	var c validate.Checks
	checkUpdateValues(&c, []*gamepb.EntityAttribute{strAttr("ok"), strAttr("n\x00"), {}})
	if len(c) != 1 || c[0].Field != "attributes[1]" {
		t.Fatalf("refused %v, want attributes[1]", c)
	}
}

// FuzzCreateEntityInput: validation never panics, refusals are well-formed
// INVALID_ARGUMENT, and an accepted request is storable text throughout.
func FuzzCreateEntityInput(f *testing.F) {
	seed := func(r *gamepb.EntityCreateRequest) []byte {
		b, err := proto.Marshal(r)
		if err != nil {
			f.Fatal(err)
		}
		return b
	}
	full := validCreate()
	full.Attributes = map[string]*gamepb.EntityAttribute{"hp": {Value: &gamepb.EntityAttribute_IntValue{IntValue: -1 << 31}}}
	full.PlayerId, full.Data = proto.String("p1"), proto.String(`{"x":[1,2]}`)
	f.Add(seed(validCreate()), "", "", "", "", "")
	f.Add(seed(full), "n\x00", "t", "k", "v", "null")
	f.Add([]byte{}, "\xed\xbf\xbf", "\xff", "\x00", "\U0010ffff", "\"\xff\"")
	f.Fuzz(func(t *testing.T, wire []byte, name, typ, attrKey, attrValue, data string) {
		req := &gamepb.EntityCreateRequest{}
		if proto.Unmarshal(wire, req) != nil {
			req = validCreate()
		}
		if name != "" {
			req.Name = name
		}
		if typ != "" {
			req.Type = typ
		}
		if attrKey != "" || attrValue != "" {
			if req.Attributes == nil {
				req.Attributes = map[string]*gamepb.EntityAttribute{}
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
		validatetest.RequireStorable(t, req, &gamepb.Entity{
			Id: gameID, SessionId: req.GetSessionId(), GameId: req.GetGameId(), Name: req.GetName(), Type: req.GetType(),
			Attributes: req.GetAttributes(), Controller: gamepb.Entity_ControllerStateEnum(req.GetController()),
			PlayerId: req.PlayerId, Data: req.Data,
		})
	})
}
