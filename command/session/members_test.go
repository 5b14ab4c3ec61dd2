package session

import (
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

func TestCheckRoom(t *testing.T) {
	g := &gamepb.Game{MaxSessions: "10"}
	q := config.Quotas{OpenSessionsPerUser: 2, SessionReservePercent: 20}
	player := auth.Principal{UserID: "p", Role: auth.RolePlayer}
	owner := auth.Principal{UserID: "owner", Role: auth.RoleDeveloper}
	admin := auth.Principal{UserID: "a", Role: auth.RoleAdmin}
	cases := []struct {
		name         string
		caller       auth.Principal
		live, hosted int
		ok           bool
		want         apperr.Kind
		inMessage    string
	}{
		{"player with room", player, 7, 1, true, 0, ""},
		{"player at their quota", player, 0, 2, false, apperr.KindResourceExhausted, "2 open sessions"},
		{"player at the players' share", player, 8, 0, false, apperr.KindFailedPrecondition, "players may open 8 of its maximum of 10"},
		{"owner past the players' share", owner, 9, 9, true, 0, ""},
		{"admin past the players' share", admin, 9, 0, true, 0, ""},
		{"owner at max_sessions", owner, 10, 0, false, apperr.KindFailedPrecondition, "maximum of 10 live sessions"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := checkRoom(tc.caller, "owner", g, q, tc.live, tc.hosted)
			if tc.ok {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if apperr.KindOf(err) != tc.want || !strings.Contains(err.Error(), tc.inMessage) {
				t.Fatalf("got %v, want kind %v mentioning %q", err, tc.want, tc.inMessage)
			}
		})
	}
}
