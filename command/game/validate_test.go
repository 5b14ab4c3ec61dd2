package game

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

func refusedFields(err error) []string {
	var out []string
	if ae, ok := err.(*apperr.Error); ok {
		for _, f := range ae.Fields {
			out = append(out, f.Field)
		}
	}
	return out
}

func TestNewGameRefusesWhatCannotBeStored(t *testing.T) {
	cases := []struct {
		name   string
		req    *gamepb.GameCreateRequest
		fields []string // nil: accepted
	}{
		{"minimal", &gamepb.GameCreateRequest{Name: "g"}, nil},
		{"every field at its limit", &gamepb.GameCreateRequest{
			Name: strings.Repeat("\U0010ffff", maxNameLen), Description: strings.Repeat("é", maxDescriptionLen),
			ShortDescription: proto.String(strings.Repeat("\uffff", maxShortDescLen)), ImageUrl: proto.String(strings.Repeat("u", maxURLLen)),
			MaxSessions: proto.String("1000000"), MaxPlayersPerSession: proto.String("1"),
			Data: proto.String(`"` + strings.Repeat("a", validate.MaxDataBytes-2) + `"`),
		}, nil},
		{"name with NUL (games.name is text)", &gamepb.GameCreateRequest{Name: "a\x00b"}, []string{"name"}},
		{"name of invalid UTF-8", &gamepb.GameCreateRequest{Name: "\xff"}, []string{"name"}},
		{"description with NUL", &gamepb.GameCreateRequest{Name: "g", Description: "\x00"}, []string{"description"}},
		{"short description with NUL", &gamepb.GameCreateRequest{Name: "g", ShortDescription: proto.String("\x00")}, []string{"short_description"}},
		{"image url with NUL", &gamepb.GameCreateRequest{Name: "g", ImageUrl: proto.String("http://x/\x00")}, []string{"image_url"}},
		{"data of invalid UTF-8", &gamepb.GameCreateRequest{Name: "g", Data: proto.String("\"\xff\"")}, []string{"data"}},
		{"data one byte too long", &gamepb.GameCreateRequest{Name: "g",
			Data: proto.String(`"` + strings.Repeat("a", validate.MaxDataBytes-1) + `"`)}, []string{"data"}},
		{"max sessions zero", &gamepb.GameCreateRequest{Name: "g", MaxSessions: proto.String("0")}, []string{"max_sessions"}},
		{"max players not plain", &gamepb.GameCreateRequest{Name: "g", MaxPlayersPerSession: proto.String("08")}, []string{"max_players_per_session"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g, err := newGame(tc.req)
			if tc.fields == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				validatetest.RequireStorable(t, tc.req, g)
				return
			}
			validatetest.RequireRefusal(t, err)
			if got := refusedFields(err); !slices.Equal(got, tc.fields) {
				t.Fatalf("refused fields %v, want %v", got, tc.fields)
			}
		})
	}
}

func TestCheckUpdateRefusesNUL(t *testing.T) {
	req := &gamepb.GameUpdateRequest{Id: "0190a6c2-7c3e-7000-8000-000000000001", Name: "n\x00", ShortDescription: proto.String("\x00")}
	err := checkUpdate(req)
	validatetest.RequireRefusal(t, err)
	if got := refusedFields(err); !slices.Equal(got, []string{"name", "short_description"}) {
		t.Fatalf("refused fields %v", got)
	}
}

// FuzzCreateGameInput: validation never panics, refusals are well-formed
// INVALID_ARGUMENT, and an accepted request makes a storable game.
func FuzzCreateGameInput(f *testing.F) {
	seed := func(r *gamepb.GameCreateRequest) []byte {
		b, err := proto.Marshal(r)
		if err != nil {
			f.Fatal(err)
		}
		return b
	}
	f.Add(seed(&gamepb.GameCreateRequest{Name: "g"}), "", "", "", "")
	f.Add(seed(&gamepb.GameCreateRequest{Name: "g", MaxSessions: proto.String("1"), Data: proto.String("{}")}), "n\x00", "\x00", "1000001", `{"a":1}`)
	f.Add([]byte{}, "\xed\xa0\x80", "\xff", "-1", "\"\xff\"")
	f.Add([]byte{}, strings.Repeat("\U0001f3ae", 101), "\u202e", "8", "[")
	f.Fuzz(func(t *testing.T, wire []byte, name, description, maxPlayers, data string) {
		req := &gamepb.GameCreateRequest{}
		if proto.Unmarshal(wire, req) != nil {
			req = &gamepb.GameCreateRequest{}
		}
		if name != "" {
			req.Name = name
		}
		if description != "" {
			req.Description = description
		}
		if maxPlayers != "" {
			req.MaxPlayersPerSession = &maxPlayers
		}
		if data != "" {
			req.Data = &data
		}
		g, err := newGame(req)
		if err != nil {
			validatetest.RequireRefusal(t, err)
			return
		}
		g.Id = "0190a6c2-7c3e-7000-8000-000000000001"
		validatetest.RequireStorable(t, req, g)
		if validate.Count(g.GetMaxSessions()) < 1 || validate.Count(g.GetMaxPlayersPerSession()) < 1 {
			t.Fatalf("accepted game with limits %q/%q", g.GetMaxSessions(), g.GetMaxPlayersPerSession())
		}
	})
}
