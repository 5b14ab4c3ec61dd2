package api_test

// Asserts facts of the oof.gg wire contract (/work/shared/oof-api-contract.md)
// on the generated descriptors, so that a proto edit that breaks existing clients
// (renumbered field, lost `optional`, renamed RPC, ...) fails the tests.

import (
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	_ "github.com/oof-gg/platform/api/gen/v1/api/auth"
	_ "github.com/oof-gg/platform/api/gen/v1/api/common"
	_ "github.com/oof-gg/platform/api/gen/v1/api/game"
	_ "github.com/oof-gg/platform/api/gen/v1/api/global"
	_ "github.com/oof-gg/platform/api/gen/v1/api/player"
	_ "github.com/oof-gg/platform/api/gen/v1/api/score"
	_ "github.com/oof-gg/platform/api/gen/v1/std"
)

func TestFilesAndPackages(t *testing.T) {
	tests := []struct{ path, pkg string }{
		{"v1/std/regions.proto", "v1.std"},
		{"v1/std/responses.proto", "v1.std"},
		{"v1/api/auth/auth_service.proto", "v1.api.auth"},
		{"v1/api/game/game.proto", "v1.api.game"},
		{"v1/api/game/session.proto", "v1.api.game"},
		{"v1/api/game/entity.proto", "v1.api.game"},
		{"v1/api/game/event.proto", "v1.api.game"},
		{"v1/api/game/instance.proto", "v1.api.game"},
		{"v1/api/game/join_leave.proto", "v1.api.game"},
		{"v1/api/global/event.proto", "v1.api.global"},
		{"v1/api/global/time.proto", "v1.api.global"},
		{"v1/api/player/player.proto", "v1.api.player"},
		{"v1/api/player/action.proto", "v1.api.player"},
		{"v1/api/player/state.proto", "v1.api.player"},
		{"v1/api/score/score.proto", "v1.api.score"},
		{"v1/api/common/game_service.proto", "v1.api.common"},
		{"v1/api/common/global_service.proto", "v1.api.common"},
		{"v1/api/common/instance_service.proto", "v1.api.common"},
		{"v1/api/common/player_service.proto", "v1.api.common"},
		{"v1/api/common/score_service.proto", "v1.api.common"},
	}
	for _, tc := range tests {
		fd, err := protoregistry.GlobalFiles.FindFileByPath(tc.path)
		if err != nil {
			t.Errorf("file %s: %v", tc.path, err)
			continue
		}
		if got := string(fd.Package()); got != tc.pkg {
			t.Errorf("file %s: package %q, want %q", tc.path, got, tc.pkg)
		}
		if fd.Syntax() != protoreflect.Proto3 {
			t.Errorf("file %s: syntax %v, want proto3", tc.path, fd.Syntax())
		}
	}
}

func TestServices(t *testing.T) {
	const (
		unary = iota
		serverStream
		bidi
	)
	tests := []struct {
		method  string // full method name: package.Service.Method
		in, out string
		kind    int
	}{
		{"v1.api.auth.AuthService.Login", "v1.api.auth.LoginRequest", "v1.api.auth.LoginResponse", unary},
		{"v1.api.auth.AuthService.Register", "v1.api.auth.RegisterRequest", "v1.api.auth.RegisterResponse", unary},
		{"v1.api.auth.AuthService.ValidateToken", "v1.api.auth.ValidateTokenRequest", "v1.api.auth.ValidateTokenResponse", unary},
		{"v1.api.auth.AuthService.TwitchLogin", "v1.api.auth.TwitchLoginRequest", "v1.api.auth.LoginResponse", unary},
		{"v1.api.auth.AuthService.RefreshToken", "v1.api.auth.RefreshTokenRequest", "v1.api.auth.RefreshTokenResponse", unary},

		{"v1.api.common.GameService.JoinLeave", "v1.api.game.JoinLeaveGame", "v1.api.game.StandardResponse", unary},
		{"v1.api.common.GameService.CreateSession", "v1.api.game.SessionCreate", "v1.api.game.StandardResponse", unary},
		{"v1.api.common.GameService.GetSession", "v1.api.game.SessionGet", "v1.api.game.StandardResponse", unary},
		{"v1.api.common.GameService.UpdateSession", "v1.api.game.SessionUpdate", "v1.api.game.StandardResponse", unary},
		{"v1.api.common.GameService.DeleteSession", "v1.api.game.SessionDelete", "v1.api.game.StandardResponse", unary},
		{"v1.api.common.GameService.CreateEntity", "v1.api.game.EntityCreateRequest", "v1.api.game.StandardResponse", unary},
		{"v1.api.common.GameService.GetEntity", "v1.api.game.EntityGetRequest", "v1.api.game.PaginatedResponse", unary},
		{"v1.api.common.GameService.UpdateEntity", "v1.api.game.EntityUpdateRequest", "v1.api.game.StandardResponse", unary},
		{"v1.api.common.GameService.DeleteEntity", "v1.api.game.EntityDeleteRequest", "v1.api.game.StandardResponse", unary},
		{"v1.api.common.GameService.CreateGame", "v1.api.game.GameCreateRequest", "v1.api.game.StandardResponse", unary},
		{"v1.api.common.GameService.GetGame", "v1.api.game.GameGetRequest", "v1.api.game.PaginatedResponse", unary},
		{"v1.api.common.GameService.UpdateGame", "v1.api.game.GameUpdateRequest", "v1.api.game.StandardResponse", unary},
		{"v1.api.common.GameService.TrendingGame", "v1.api.game.TrendingGamesRequest", "v1.api.game.PaginatedResponse", unary},
		{"v1.api.common.GameService.StreamEvents", "v1.api.game.GameEvent", "v1.api.game.GameEvent", bidi},
		{"v1.api.common.GameService.WatchQueue", "v1.api.game.Session", "v1.api.game.Session", serverStream},

		{"v1.api.common.GlobalService.StreamEvents", "v1.api.global.GlobalEvent", "v1.api.global.GlobalEvent", bidi},
		{"v1.api.common.InstanceService.StreamEvents", "v1.api.game.GameEvent", "v1.api.game.GameEvent", bidi},

		{"v1.api.common.PlayerService.CreatePlayer", "v1.api.player.Player", "v1.api.player.StandardResponse", unary},
		{"v1.api.common.PlayerService.GetPlayer", "v1.api.player.PlayerGet", "v1.api.player.StandardResponse", unary},
		{"v1.api.common.PlayerService.UpdatePlayer", "v1.api.player.PlayerUpdate", "v1.api.player.StandardResponse", unary},

		{"v1.api.common.ScoreService.SubmitScore", "v1.api.score.ScoreSubmission", "v1.api.score.StandardResponse", unary},
		{"v1.api.common.ScoreService.GetPlayerScores", "v1.api.score.PlayerScoresRequest", "v1.api.score.StandardResponse", unary},
		{"v1.api.common.ScoreService.GetLeaderboard", "v1.api.score.LeaderboardRequest", "v1.api.score.StandardResponse", unary},
		{"v1.api.common.ScoreService.GetPlayerRank", "v1.api.score.PlayerRankRequest", "v1.api.score.StandardResponse", unary},
	}
	perService := map[protoreflect.FullName]int{}
	for _, tc := range tests {
		t.Run(tc.method, func(t *testing.T) {
			d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(tc.method))
			if err != nil {
				t.Fatalf("method not found: %v", err)
			}
			m, ok := d.(protoreflect.MethodDescriptor)
			if !ok {
				t.Fatalf("%s is a %T, not a method", tc.method, d)
			}
			if got := string(m.Input().FullName()); got != tc.in {
				t.Errorf("input %s, want %s", got, tc.in)
			}
			if got := string(m.Output().FullName()); got != tc.out {
				t.Errorf("output %s, want %s", got, tc.out)
			}
			wantCS, wantSS := tc.kind == bidi, tc.kind != unary
			if m.IsStreamingClient() != wantCS || m.IsStreamingServer() != wantSS {
				t.Errorf("streaming client=%v server=%v, want client=%v server=%v",
					m.IsStreamingClient(), m.IsStreamingServer(), wantCS, wantSS)
			}
		})
		perService[protoreflect.FullName(tc.method).Parent()]++
	}
	// Every contract service exists; additions are allowed, so only check >=.
	for svc, n := range perService {
		d, err := protoregistry.GlobalFiles.FindDescriptorByName(svc)
		if err != nil {
			t.Errorf("service %s: %v", svc, err)
			continue
		}
		if got := d.(protoreflect.ServiceDescriptor).Methods().Len(); got < n {
			t.Errorf("service %s has %d methods, want at least %d", svc, got, n)
		}
	}
}
