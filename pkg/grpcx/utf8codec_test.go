package grpcx

import (
	"slices"
	"testing"

	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
)

func field(b []byte, num protowire.Number, v []byte) []byte {
	return protowire.AppendBytes(protowire.AppendTag(b, num, protowire.BytesType), v)
}

func wire(t *testing.T, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decode(b []byte) (*gamepb.SessionCreate, error) {
	m := &gamepb.SessionCreate{}
	return m, Codec{}.Unmarshal(mem.BufferSlice{mem.SliceBuffer(b)}, m)
}

func TestCodecNamesFieldsThatAreNotUTF8(t *testing.T) {
	valid := &gamepb.SessionCreate{GameId: "g", UserIds: []string{"a"}, State: gamepb.GameState_STATE_STARTED,
		Attributes: map[string]*gamepb.GameAttribute{"k": {Value: &gamepb.GameAttribute_IntValue{IntValue: 7}}}}
	attrEntry := func(key, value []byte) []byte {
		attr := field(nil, 2, value) // GameAttribute.string_value
		return field(field(nil, 1, key), 2, attr)
	}
	cases := []struct {
		name   string
		wire   []byte
		fields []string
		kept   func(*gamepb.SessionCreate) bool
	}{
		{"valid request", wire(t, valid), nil,
			func(m *gamepb.SessionCreate) bool { return proto.Equal(m, valid) }},
		{"top-level string", field(wire(t, valid), 1, []byte("\xff")), []string{"game_id"},
			func(m *gamepb.SessionCreate) bool { return m.GetGameId() == "g" && len(m.GetUserIds()) == 1 }},
		{"second element of a list", field(wire(t, valid), 2, []byte("b\xc0\x80")), []string{"user_ids[1]"},
			func(m *gamepb.SessionCreate) bool { return slices.Equal(m.GetUserIds(), []string{"a"}) }},
		{"optional string", field(wire(t, valid), 6, []byte{0xed, 0xa0, 0x80}), []string{"data"},
			func(m *gamepb.SessionCreate) bool {
				return m.Data == nil && m.GetState() == gamepb.GameState_STATE_STARTED
			}},
		{"string inside a map value", field(wire(t, valid), 4, attrEntry([]byte("s"), []byte("\xfe"))),
			[]string{"attributes[s].string_value"},
			func(m *gamepb.SessionCreate) bool {
				_, ok := m.GetAttributes()["s"]
				return !ok && len(m.GetAttributes()) == 1
			}},
		{"map key", field(wire(t, valid), 4, attrEntry([]byte("\xff"), []byte("v"))), []string{"attributes"},
			func(m *gamepb.SessionCreate) bool { return len(m.GetAttributes()) == 1 }},
		{"several at once", field(field(nil, 1, []byte("\xff")), 2, []byte("\xff")), []string{"game_id", "user_ids[0]"},
			func(m *gamepb.SessionCreate) bool { return m.GetGameId() == "" }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := decode(tc.wire)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if got := InvalidUTF8Fields(m); !slices.Equal(got, tc.fields) {
				t.Fatalf("invalid fields %q, want %q", got, tc.fields)
			}
			if !tc.kept(m) {
				t.Fatalf("the valid fields were not kept: %v", m)
			}
		})
	}
}

func TestCodecKeepsOtherDecodeErrors(t *testing.T) {
	for name, b := range map[string][]byte{
		"truncated length":      {0x0a, 0x05, 'a'},
		"bad wire type":         {0x0f},
		"invalid UTF-8 in junk": append(field(nil, 1, []byte("\xff")), 0x0a, 0x09),
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := decode(b); err == nil {
				t.Fatal("malformed wire decoded")
			}
		})
	}
}

// FuzzCodecUnmarshal: any bytes decode or fail without panicking; a
// success either is what the standard codec decodes or lists the fields
// it left out, and the rest is valid UTF-8 throughout (it re-encodes).
func FuzzCodecUnmarshal(f *testing.F) {
	f.Add([]byte{})
	f.Add(field(nil, 1, []byte("\xff")))
	f.Add(field(field(nil, 4, field(field(nil, 1, []byte("k")), 2, field(nil, 2, []byte("\xfe")))), 2, []byte("u")))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decode(b)
		if err != nil {
			return
		}
		if len(InvalidUTF8Fields(m)) == 0 {
			if proto.Unmarshal(b, &gamepb.SessionCreate{}) != nil {
				t.Fatal("accepted what the standard codec refuses, naming no field")
			}
			return
		}
		m.ProtoReflect().SetUnknown(nil)
		if _, err := proto.Marshal(m); err != nil {
			t.Fatalf("what was kept does not encode: %v", err)
		}
	})
}
