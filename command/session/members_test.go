package session

import (
	"math"
	"strings"
	"testing"

	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	"github.com/oof-gg/platform/pkg/apperr"
	"github.com/oof-gg/platform/pkg/auth"
	"github.com/oof-gg/platform/pkg/config"
)

// The one membership rule, as CreateSession (host = caller, list starts
// empty) and UpdateSession use it.
func TestCheckMembers(t *testing.T) {
	const owner, host, member, other = "owner", "host", "member", "other"
	player := func(id string) auth.Principal { return auth.Principal{UserID: id, Role: auth.RolePlayer} }
	cases := []struct {
		name          string
		caller        auth.Principal
		host          string
		before, after []string
		ok            bool
	}{
		{"create: player lists nobody", player(host), host, nil, nil, true},
		{"create: player lists themselves", player(host), host, nil, []string{host}, true},
		{"create: player lists another", player(host), host, nil, []string{host, other}, false},
		{"create: game owner lists anyone", auth.Principal{UserID: owner, Role: auth.RoleDeveloper}, owner, nil, []string{member, other}, true},
		{"create: other developer lists another", auth.Principal{UserID: "dev", Role: auth.RoleDeveloper}, "dev", nil, []string{other}, false},
		{"create: admin lists anyone", auth.Principal{UserID: "a", Role: auth.RoleAdmin}, "a", nil, []string{other}, true},
		{"create: game instance lists anyone", auth.Principal{UserID: "s", Role: auth.RoleService}, "s", nil, []string{other}, true},

		{"update: host adds another", player(host), host, []string{host}, []string{host, other}, false},
		{"update: host re-joins", player(host), host, []string{member}, []string{member, host}, true},
		{"update: host removes a member", player(host), host, []string{host, member}, []string{host}, true},
		{"update: host empties the list", player(host), host, []string{host, member}, nil, true},
		{"update: member leaves", player(member), host, []string{host, member}, []string{host}, true},
		{"update: last member leaves", player(member), host, []string{member}, nil, true},
		{"update: member reorders", player(member), host, []string{host, member}, []string{member, host}, true},
		{"update: member removes the host", player(member), host, []string{host, member}, []string{member}, false},
		{"update: member adds another", player(member), host, []string{member}, []string{member, other}, false},
		{"update: member swaps in another", player(member), host, []string{host, member}, []string{host, other}, false},
		{"update: game owner sets anyone", auth.Principal{UserID: owner, Role: auth.RoleDeveloper}, host, []string{host}, []string{other}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := checkMembers(tc.caller, tc.host, owner, tc.before, tc.after)
			if tc.ok != (err == nil) {
				t.Fatalf("checkMembers = %v, want ok=%v", err, tc.ok)
			}
			if err != nil && apperr.KindOf(err) != apperr.KindPermissionDenied {
				t.Fatalf("refused with %v, want PERMISSION_DENIED", err)
			}
		})
	}
}

func TestPlayerSessions(t *testing.T) {
	for _, tc := range []struct{ max, percent, want int }{
		{1, 10, 0}, {2, 10, 1}, {10, 10, 9}, {11, 10, 9}, {100, 10, 90}, {100, 0, 100}, {1, 0, 1}, {1000000, 99, 10000},
	} {
		if got := PlayerSessions(tc.max, tc.percent); got != tc.want {
			t.Errorf("PlayerSessions(%d, %d%%) = %d, want %d", tc.max, tc.percent, got, tc.want)
		}
	}
}

func TestRoomFor(t *testing.T) {
	g := &gamepb.Game{MaxSessions: "10"}
	q := config.Quotas{OpenSessionsPerUser: 2, SessionReservePercent: 20}
	player := auth.Principal{UserID: "p", Role: auth.RolePlayer}
	owner := auth.Principal{UserID: "owner", Role: auth.RoleDeveloper}
	admin := auth.Principal{UserID: "a", Role: auth.RoleAdmin}
	cases := []struct {
		name               string
		caller             auth.Principal
		gameCap, hostedCap int
		gameKind           apperr.Kind
		gameMsg, hostedMsg string
		hostedKind         apperr.Kind
	}{
		{"player", player, 8, 2, apperr.KindFailedPrecondition, "players may open 8 of its maximum of 10",
			"2 open sessions", apperr.KindResourceExhausted},
		{"owner", owner, 10, math.MaxInt32, apperr.KindFailedPrecondition, "maximum of 10 live sessions", "", apperr.KindInternal},
		{"admin", admin, 10, math.MaxInt32, apperr.KindFailedPrecondition, "maximum of 10 live sessions", "", apperr.KindInternal},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := roomFor(tc.caller, "owner", g, q)
			if r.gameCap != tc.gameCap || r.hostedCap != tc.hostedCap {
				t.Fatalf("caps: game %d, hosted %d; want %d, %d", r.gameCap, r.hostedCap, tc.gameCap, tc.hostedCap)
			}
			if apperr.KindOf(r.gameFull) != tc.gameKind || !strings.Contains(r.gameFull.Error(), tc.gameMsg) {
				t.Errorf("game full: %v; want kind %v mentioning %q", r.gameFull, tc.gameKind, tc.gameMsg)
			}
			if apperr.KindOf(r.hostedFull) != tc.hostedKind || !strings.Contains(r.hostedFull.Error(), tc.hostedMsg) {
				t.Errorf("hosted full: %v; want kind %v mentioning %q", r.hostedFull, tc.hostedKind, tc.hostedMsg)
			}
		})
	}
}
