package api_test

// Message-level facts of the wire contract (fields, enums). The generated
// packages are registered by the blank imports in contract_services_test.go.

import (
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

func findMessage(t *testing.T, name string) protoreflect.MessageDescriptor {
	t.Helper()
	d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(name))
	if err != nil {
		t.Fatalf("message %s: %v", name, err)
	}
	md, ok := d.(protoreflect.MessageDescriptor)
	if !ok {
		t.Fatalf("%s is a %T, not a message", name, d)
	}
	return md
}

// field expectations: "opt" = proto3 optional, "rep" = repeated, "map",
// "oneof:<name>" = member of a real oneof, "" = plain singular field.
type fieldCase struct {
	msg   string
	num   protoreflect.FieldNumber
	name  string
	kind  protoreflect.Kind
	elem  string // full name of the message/enum type (map: value type)
	label string
}

func TestFields(t *testing.T) {
	const (
		str  = protoreflect.StringKind
		i32  = protoreflect.Int32Kind
		i64  = protoreflect.Int64Kind
		f32  = protoreflect.FloatKind
		boo  = protoreflect.BoolKind
		msg  = protoreflect.MessageKind
		enum = protoreflect.EnumKind
	)
	tests := []fieldCase{
		// v1.std
		{"v1.std.Status", 3, "details", str, "", "rep"},
		{"v1.std.StandardResponse", 4, "data", msg, "google.protobuf.Any", ""},
		{"v1.std.PaginationMetadata", 1, "page_size", i32, "", "opt"},
		{"v1.std.PaginatedResponse", 4, "pagination", msg, "v1.std.PaginationMetadata", ""},
		{"v1.std.PaginatedResponse", 5, "data", msg, "google.protobuf.Any", ""},

		// v1.api.auth
		{"v1.api.auth.TwitchLoginRequest", 1, "helix_token", str, "", ""},
		{"v1.api.auth.TwitchLoginRequest", 3, "user_id", str, "", ""},
		{"v1.api.auth.LoginResponse", 3, "expires_in", i64, "", ""},
		{"v1.api.auth.ValidateTokenResponse", 1, "is_valid", boo, "", ""},
		{"v1.api.auth.RegisterResponse", 4, "expires_in", i64, "", ""},

		// v1.api.game
		{"v1.api.game.Game", 6, "max_sessions", str, "", ""},
		{"v1.api.game.Game", 7, "max_players_per_session", str, "", ""},
		{"v1.api.game.Game", 8, "data", str, "", "opt"},
		{"v1.api.game.GameGetRequest", 1, "id", str, "", "opt"},
		{"v1.api.game.GameGetRequest", 2, "limit", i32, "", "opt"},
		{"v1.api.game.GameGetRequest", 3, "cursor", str, "", "opt"},
		{"v1.api.game.TrendingGamesRequest", 1, "limit", i32, "", "opt"},
		{"v1.api.game.StandardResponse", 4, "single_game", msg, "v1.api.game.Game", "oneof:data"},
		{"v1.api.game.StandardResponse", 7, "sessions", msg, "v1.api.game.Sessions", "oneof:data"},
		{"v1.api.game.StandardResponse", 8, "entity", msg, "v1.api.game.Entity", "oneof:data"},
		{"v1.api.game.StandardResponse", 9, "entities", msg, "v1.api.game.Entities", "oneof:data"},
		{"v1.api.game.PaginatedResponse", 4, "pagination", msg, "v1.api.game.PaginationMetadata", "opt"},
		{"v1.api.game.PaginatedResponse", 5, "game", msg, "v1.api.game.Game", "oneof:data"},
		{"v1.api.game.PaginatedResponse", 8, "sessions", msg, "v1.api.game.Sessions", "oneof:data"},
		{"v1.api.game.PaginatedResponse", 9, "entity", msg, "v1.api.game.Entity", "oneof:data"},
		{"v1.api.game.PaginatedResponse", 10, "entities", msg, "v1.api.game.Entities", "oneof:data"},
		{"v1.api.game.GameAttribute", 2, "string_value", str, "", "oneof:value"},
		{"v1.api.game.GameAttribute", 5, "bool_value", boo, "", "oneof:value"},
		{"v1.api.game.Session", 4, "state", enum, "v1.api.game.GameState", ""},
		{"v1.api.game.Session", 5, "attributes", msg, "v1.api.game.GameAttribute", "map"},
		{"v1.api.game.Session", 6, "region", enum, "v1.std.RegionEnum", "opt"},
		{"v1.api.game.SessionCreate", 5, "region", enum, "v1.std.RegionEnum", "opt"},
		{"v1.api.game.SessionCreate", 6, "data", str, "", "opt"},
		{"v1.api.game.SessionGet", 2, "game_id", str, "", "opt"},
		{"v1.api.game.Entity", 7, "controller", enum, "v1.api.game.Entity.ControllerStateEnum", ""},
		{"v1.api.game.Entity", 8, "player_id", str, "", "opt"},
		{"v1.api.game.EntityAttribute", 3, "int_value", i32, "", "oneof:value"},
		{"v1.api.game.EntityCreateRequest", 4, "session_id", str, "", ""},
		{"v1.api.game.EntityCreateRequest", 7, "controller", enum, "v1.api.game.EntityCreateRequest.ControllerStateEnum", ""},
		{"v1.api.game.EntityUpdateRequest", 4, "attributes", msg, "v1.api.game.EntityAttribute", "rep"},
		{"v1.api.game.GameEvent", 1, "id", str, "", "opt"},
		{"v1.api.game.GameEvent", 3, "timestamp", i64, "", ""},
		{"v1.api.game.GameEvent", 7, "session_id", str, "", "opt"},
		{"v1.api.game.GameEvent", 9, "attributes", msg, "v1.api.game.GameEvent.EventAttribute", "map"},
		{"v1.api.game.GameEvent", 10, "type", enum, "v1.api.game.GameEvent.EventType", ""},
		{"v1.api.game.GameEvent", 11, "data", str, "", "opt"},
		{"v1.api.game.GameEvent.EventAttribute", 1, "string_value", str, "", "oneof:value"},
		{"v1.api.game.GameEvent.EventAttribute", 3, "float_value", f32, "", "oneof:value"},
		{"v1.api.game.InstanceNotification", 1, "state", enum, "v1.api.game.InstanceStateEnum", ""},
		{"v1.api.game.InstanceCommandMessage", 1, "state", enum, "v1.api.game.InstanceCommandEnum", ""},
		{"v1.api.game.InstanceCommandMessage", 5, "auth_config", msg, "v1.api.game.AuthConfig", "opt"},
		{"v1.api.game.InstanceCommandMessage", 6, "player_name", str, "", "opt"},
		{"v1.api.game.AuthConfig", 2, "config", str, "", "map"},
		{"v1.api.game.JoinLeaveGame", 3, "action", enum, "v1.api.game.JoinLeaveGame.Action", ""},
		{"v1.api.game.JoinLeaveGame", 6, "region", enum, "v1.std.RegionEnum", "opt"},

		// v1.api.global
		{"v1.api.global.GlobalEvent", 1, "id", str, "", ""},
		{"v1.api.global.GlobalEvent", 6, "team_id", str, "", "opt"},
		{"v1.api.global.GlobalEvent", 7, "attributes", msg, "v1.api.global.GlobalEvent.EventAttribute", "map"},
		{"v1.api.global.GlobalEvent", 8, "type", enum, "v1.api.global.GlobalEvent.EventType", ""},
		{"v1.api.global.GlobalTime", 2, "hash", str, "", ""},

		// v1.api.player
		{"v1.api.player.Player", 3, "email", str, "", "opt"},
		{"v1.api.player.Player", 5, "score", i32, "", ""},
		{"v1.api.player.PlayerCreate", 7, "role", str, "", "opt"},
		{"v1.api.player.PlayerUpdate", 4, "team", str, "", "opt"},
		{"v1.api.player.PlayerUpdate", 6, "type", enum, "v1.api.player.PlayerType", "opt"},
		{"v1.api.player.PlayerUpdate", 7, "status", enum, "v1.api.player.PlayerStatus", "opt"},
		{"v1.api.player.StandardResponse", 4, "single_player", msg, "v1.api.player.Player", "oneof:data"},
		{"v1.api.player.StandardResponse", 5, "players", msg, "v1.api.player.Players", "oneof:data"},
		{"v1.api.player.PlayerAction", 5, "position", msg, "v1.api.player.Position", "opt"},
		{"v1.api.player.PlayerAction", 7, "action", msg, "v1.api.player.PlayerActionAttribute", "map"},
		{"v1.api.player.PlayerActionAttribute", 4, "float_value", f32, "", "oneof:value"},
		{"v1.api.player.Velocity", 3, "z", f32, "", ""},
		{"v1.api.player.State", 4, "state", enum, "v1.api.player.State.PlayerState", ""},
		{"v1.api.player.State", 5, "attributes", msg, "v1.api.player.State.PlayerAttribute", "map"},
		{"v1.api.player.State.PlayerAttribute", 2, "string_value", str, "", "oneof:value"},

		// v1.api.score
		{"v1.api.score.Score", 5, "value", i64, "", ""},
		{"v1.api.score.Score", 7, "created_at", msg, "google.protobuf.Timestamp", ""},
		{"v1.api.score.Score", 8, "metadata", str, "", "map"},
		{"v1.api.score.PlayerRankResponse", 5, "score_value", i64, "", ""},
		{"v1.api.score.Status", 3, "details", str, "", ""}, // single string, not repeated
		{"v1.api.score.PaginatedResponse", 4, "pagination", msg, "v1.api.score.PaginationMetadata", "opt"},
		{"v1.api.score.PaginatedResponse", 5, "player_scores", msg, "v1.api.score.PlayerScoresResponse", "oneof:data"},
		{"v1.api.score.StandardResponse", 5, "player_scores", msg, "v1.api.score.PlayerScoresResponse", "oneof:data"},
		{"v1.api.score.StandardResponse", 8, "player_rank", msg, "v1.api.score.PlayerRankResponse", "oneof:data"},

		// v1.api.common
		{"v1.api.common.WebSocketMessage", 1, "global_event", msg, "v1.api.global.GlobalEvent", "oneof:payload"},
		{"v1.api.common.WebSocketMessage", 3, "player_action", msg, "v1.api.player.PlayerAction", "oneof:payload"},
		{"v1.api.common.WebSocketMessage", 4, "response", msg, "v1.std.StandardResponse", "oneof:payload"},
	}
	for _, tc := range tests {
		t.Run(tc.msg+"/"+tc.name, func(t *testing.T) {
			md := findMessage(t, tc.msg)
			f := md.Fields().ByNumber(tc.num)
			if f == nil {
				t.Fatalf("no field %d", tc.num)
			}
			if string(f.Name()) != tc.name {
				t.Errorf("field %d is named %q, want %q", tc.num, f.Name(), tc.name)
			}
			kind, elem := f.Kind(), f.Message()
			var enumDesc protoreflect.EnumDescriptor = f.Enum()
			if f.IsMap() {
				v := f.MapValue()
				kind, elem, enumDesc = v.Kind(), v.Message(), v.Enum()
				if f.MapKey().Kind() != protoreflect.StringKind {
					t.Errorf("map key kind %v, want string", f.MapKey().Kind())
				}
			}
			if kind != tc.kind {
				t.Errorf("kind %v, want %v", kind, tc.kind)
			}
			var gotElem string
			switch {
			case elem != nil:
				gotElem = string(elem.FullName())
			case enumDesc != nil:
				gotElem = string(enumDesc.FullName())
			}
			if gotElem != tc.elem {
				t.Errorf("type %q, want %q", gotElem, tc.elem)
			}
			var gotLabel string
			switch {
			case f.IsMap():
				gotLabel = "map"
			case f.IsList():
				gotLabel = "rep"
			case f.HasOptionalKeyword():
				gotLabel = "opt"
			case f.ContainingOneof() != nil:
				gotLabel = "oneof:" + string(f.ContainingOneof().Name())
			}
			if gotLabel != tc.label {
				t.Errorf("label %q, want %q", gotLabel, tc.label)
			}
		})
	}
}

func TestAbsentFields(t *testing.T) {
	tests := []struct {
		msg string
		num protoreflect.FieldNumber
	}{
		{"v1.api.game.EntityCreateRequest", 3},
		{"v1.api.game.GameEvent", 6},
		{"v1.api.score.StandardResponse", 4},
		{"v1.api.game.GameAttribute", 1},
		{"v1.api.game.EntityAttribute", 1},
		{"v1.api.player.PlayerActionAttribute", 1},
		{"v1.api.player.State.PlayerAttribute", 1},
		{"v1.api.player.PlayerUpdate", 2},
		{"v1.api.player.PlayerUpdate", 3},
		{"v1.api.player.PlayerUpdate", 5},
	}
	for _, tc := range tests {
		if f := findMessage(t, tc.msg).Fields().ByNumber(tc.num); f != nil {
			t.Errorf("%s must have no field %d, has %s", tc.msg, tc.num, f.Name())
		}
	}
}

func TestFieldCounts(t *testing.T) {
	// Exact field counts of messages whose shape is easy to get subtly wrong.
	tests := []struct {
		msg string
		n   int
	}{
		{"v1.api.game.EntityCreateRequest", 8},
		{"v1.api.game.GameEvent", 10},
		{"v1.api.game.StandardResponse", 3 + 4 + 2}, // +2: oof entity/entities additions
		{"v1.api.game.PaginatedResponse", 4 + 4 + 2},
		{"v1.api.score.StandardResponse", 7},
		{"v1.api.score.PaginatedResponse", 8},
		{"v1.api.player.PlayerUpdate", 5},
		{"v1.std.Status", 3},
		{"v1.api.score.Status", 3},
	}
	for _, tc := range tests {
		if got := findMessage(t, tc.msg).Fields().Len(); got != tc.n {
			t.Errorf("%s has %d fields, want %d", tc.msg, got, tc.n)
		}
	}
}

func TestEnums(t *testing.T) {
	tests := []struct {
		enum  string
		value string
		num   protoreflect.EnumNumber
	}{
		{"v1.std.RegionEnum", "REGION_UNSPECIFIED", 0},
		{"v1.std.RegionEnum", "AS_SE", 8},
		{"v1.std.RegionEnum", "GLOBAL", 13},
		{"v1.api.game.GameState", "STATE_CREATED", 0},
		{"v1.api.game.GameState", "STATE_QUEUED", 6},
		{"v1.api.game.Entity.ControllerStateEnum", "PLAYER", 1},
		{"v1.api.game.EntityCreateRequest.ControllerStateEnum", "SERVER", 0},
		{"v1.api.game.GameEvent.EventType", "TYPE_COMPLETION", 4},
		{"v1.api.game.InstanceStateEnum", "SHUTTING_DOWN", 5},
		{"v1.api.game.InstanceStateEnum", "STOPPED", 6},
		{"v1.api.game.InstanceCommandEnum", "SHUTDOWN", 5},
		{"v1.api.game.JoinLeaveGame.Action", "LEAVE", 1},
		{"v1.api.global.GlobalEvent.EventType", "REQUEST", 4},
		{"v1.api.player.PlayerType", "AI", 1},
		{"v1.api.player.PlayerStatus", "INACTIVE", 1},
		{"v1.api.player.ActionType", "INTERACT", 7},
		{"v1.api.player.State.PlayerState", "FINISHED", 2},
	}
	for _, tc := range tests {
		d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(tc.enum))
		if err != nil {
			t.Errorf("enum %s: %v", tc.enum, err)
			continue
		}
		v := d.(protoreflect.EnumDescriptor).Values().ByName(protoreflect.Name(tc.value))
		if v == nil {
			t.Errorf("%s has no value %s", tc.enum, tc.value)
			continue
		}
		if v.Number() != tc.num {
			t.Errorf("%s.%s = %d, want %d", tc.enum, tc.value, v.Number(), tc.num)
		}
	}
}
