package global

import (
	"strings"
	"testing"

	globalpb "github.com/oof-gg/platform/api/gen/v1/api/global"
	"github.com/oof-gg/platform/pkg/apperr"
)

// fine: the event is accepted (apperr's kinds start at 0).
const fine apperr.Kind = -1

func TestCheckEvent(t *testing.T) {
	str := func(v string) *globalpb.GlobalEvent_EventAttribute {
		return &globalpb.GlobalEvent_EventAttribute{Value: &globalpb.GlobalEvent_EventAttribute_StringValue{StringValue: v}}
	}
	for _, tc := range []struct {
		name string
		ev   *globalpb.GlobalEvent
		want apperr.Kind
	}{
		{"ok", &globalpb.GlobalEvent{EventName: "maintenance"}, fine},
		{"ok with id and attributes", &globalpb.GlobalEvent{Id: "a-1:b.c_d", EventName: "x", Attributes: map[string]*globalpb.GlobalEvent_EventAttribute{"k": str("v")}}, fine},
		{"nil", nil, apperr.KindInvalid},
		{"no name", &globalpb.GlobalEvent{}, apperr.KindInvalid},
		{"bad id", &globalpb.GlobalEvent{Id: "a b", EventName: "x"}, apperr.KindInvalid},
		{"bad game id", &globalpb.GlobalEvent{EventName: "x", GameId: new(string)}, apperr.KindInvalid},
		{"unknown type", &globalpb.GlobalEvent{EventName: "x", Type: 99}, apperr.KindInvalid},
		{"long attribute", &globalpb.GlobalEvent{EventName: "x", Attributes: map[string]*globalpb.GlobalEvent_EventAttribute{"k": str(strings.Repeat("v", 1025))}}, apperr.KindInvalid},
		{"too large", &globalpb.GlobalEvent{EventName: "x", Attributes: map[string]*globalpb.GlobalEvent_EventAttribute{"a": str(strings.Repeat("v", 1000)), "b": str(strings.Repeat("v", 1000)), "c": str(strings.Repeat("v", 1000))}}, apperr.KindResourceExhausted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckEvent(tc.ev, 2048)
			if tc.want == fine {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !apperr.Is(err, tc.want) {
				t.Fatalf("got %v, want kind %v", err, tc.want)
			}
		})
	}
}
