package player

import (
	"net/mail"
	"strings"

	playerpb "github.com/oof-gg/platform/api/gen/v1/api/player"
	"github.com/oof-gg/platform/pkg/auth"
	"github.com/oof-gg/platform/pkg/authz"
	"github.com/oof-gg/platform/pkg/validate"
)

const (
	maxEmailLen = 254
	maxTeamLen  = 64
)

// checkUsername applies the account username rule of command/auth (3–32 of
// [A-Za-z0-9_.-]), so a player name is always a valid account name too.
func checkUsername(c *validate.Checks, u string) {
	if len(u) < 3 || len(u) > 32 {
		c.Add("username", "must be 3 to 32 characters")
		return
	}
	for _, r := range u {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-') {
			c.Add("username", "may contain only letters, digits, '_', '.' and '-'")
			return
		}
	}
}

// checkEmail applies command/auth's e-mail rule: a plain addr-spec with a
// dotted domain, no display name. Empty means "none".
func checkEmail(c *validate.Checks, e string) {
	if e == "" {
		return
	}
	a, err := mail.ParseAddress(e)
	local, domain, _ := strings.Cut(e, "@")
	if len(e) > maxEmailLen || err != nil || a.Address != e || a.Name != "" || local == "" ||
		!strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") ||
		strings.Contains(domain, "..") {
		c.Add("email", "must be a valid e-mail address of at most 254 characters")
	}
}

func checkTeam(c *validate.Checks, team *string) {
	if team != nil {
		c.Text("team", *team, 0, maxTeamLen)
	}
}

// checkEnums rejects numbers outside the contract's enums: proto3 accepts
// any number on the wire, and an unknown one would be stored as is.
func checkEnums(c *validate.Checks, t *playerpb.PlayerType, s *playerpb.PlayerStatus) {
	if t != nil {
		if _, ok := playerpb.PlayerType_name[int32(*t)]; !ok {
			c.Add("type", "must be HUMAN or AI")
		}
	}
	if s != nil {
		if _, ok := playerpb.PlayerStatus_name[int32(*s)]; !ok {
			c.Add("status", "must be ACTIVE or INACTIVE")
		}
	}
}

func checkRole(c *validate.Checks, role string) {
	if !auth.ValidRole(role) {
		c.Add("role", "must be one of player, developer, admin, service")
	}
}

// orNil keeps "" out of optional fields, so "no team" has one form and
// equality checks see no difference between unset and empty.
func orNil(s *string) *string {
	if s == nil || *s == "" {
		return nil
	}
	v := *s
	return &v
}

// canCreateAI: AI players are content, published by developers and admins.
func canCreateAI(p auth.Principal) bool { return p.Role == auth.RoleDeveloper || authz.IsAdmin(p) }

// canChange: a player's owner (a HUMAN player's own user; an AI player's
// creator) or an admin. What the owner may change is narrower (see Update).
func canChange(p auth.Principal, owner string) bool { return authz.IsAdmin(p) || p.UserID == owner }

// canSetScore: scores are awarded by the platform's operators and the game
// back ends, never by a player to themselves (or a developer to their AI).
func canSetScore(p auth.Principal) bool { return authz.IsAdmin(p) || authz.IsService(p) }
