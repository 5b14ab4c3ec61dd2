package matchmaking

import (
	"strings"
	"testing"
)

func tickets(teams ...string) []Ticket {
	out := make([]Ticket, len(teams))
	for i, t := range teams {
		out[i] = Ticket{ID: string(rune('a' + i)), Team: t}
	}
	return out
}

func ids(ts []Ticket) string {
	var b strings.Builder
	for _, t := range ts {
		b.WriteString(t.ID)
	}
	return b.String()
}

func TestPick(t *testing.T) {
	for _, c := range []struct {
		name      string
		cands     []Ticket
		size, min int
		waited    bool
		want      string
	}{
		{"full group, oldest first", tickets("", "", "", "", ""), 4, 4, false, "abcd"},
		{"not enough players", tickets("", ""), 4, 4, true, ""},
		{"fewer after the max wait when allowed", tickets("", ""), 4, 2, true, "ab"},
		{"fewer not before the max wait", tickets("", ""), 4, 2, false, ""},
		{"fewer not below the minimum", tickets(""), 4, 2, true, ""},
		{"teams balanced 2+2", tickets("r", "r", "r", "b", "b"), 4, 4, false, "abde"},
		{"one team only cannot fill alone", tickets("r", "r", "r", "r"), 4, 4, false, ""},
		{"untagged fill any place", tickets("r", "r", "r", "", ""), 4, 4, false, "abde"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := ids(pick(c.cands, c.size, c.min, c.waited)); got != c.want {
				t.Fatalf("picked %q, want %q", got, c.want)
			}
		})
	}
}
