package session

import (
	"fmt"

	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	stdpb "github.com/oof-gg/platform/api/gen/v1/std"
	"github.com/oof-gg/platform/pkg/validate"
)

// transitions lists the legal moves of the session state machine. Staying in
// the same state is always allowed (an update of other fields); FINISHED and
// DELETED are terminal.
var transitions = map[gamepb.GameState][]gamepb.GameState{
	gamepb.GameState_STATE_CREATED: {gamepb.GameState_STATE_WAITING, gamepb.GameState_STATE_QUEUED, gamepb.GameState_STATE_STARTED},
	gamepb.GameState_STATE_QUEUED:  {gamepb.GameState_STATE_WAITING, gamepb.GameState_STATE_STARTED},
	gamepb.GameState_STATE_WAITING: {gamepb.GameState_STATE_QUEUED, gamepb.GameState_STATE_STARTED},
	gamepb.GameState_STATE_STARTED: {gamepb.GameState_STATE_PAUSED, gamepb.GameState_STATE_FINISHED},
	gamepb.GameState_STATE_PAUSED:  {gamepb.GameState_STATE_STARTED, gamepb.GameState_STATE_FINISHED},
}

// CanTransition reports whether a session may move from one state to another
// through UpdateSession (DELETED is reached only through DeleteSession).
func CanTransition(from, to gamepb.GameState) bool {
	if Terminal(from) {
		return false
	}
	if from == to {
		return true
	}
	for _, s := range transitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// Terminal reports whether no change is possible any more.
func Terminal(s gamepb.GameState) bool {
	return s == gamepb.GameState_STATE_FINISHED || s == gamepb.GameState_STATE_DELETED
}

// Initial reports whether a session may be created in state s.
func Initial(s gamepb.GameState) bool {
	switch s {
	case gamepb.GameState_STATE_CREATED, gamepb.GameState_STATE_WAITING, gamepb.GameState_STATE_QUEUED, gamepb.GameState_STATE_STARTED:
		return true
	}
	return false
}

const (
	maxAttributes     = 64
	maxAttrKeyLen     = 64
	maxAttrStringLen  = 1024
	maxUserIDLen      = 64
	maxUsersInRequest = 1000
)

func checkUsers(c *validate.Checks, ids []string) {
	if len(ids) > maxUsersInRequest {
		c.Add("user_ids", "too many users")
		return
	}
	seen := map[string]bool{}
	for i, id := range ids {
		switch {
		case !validate.Storable(id):
			// match_history.user_ids is a text[]: NUL cannot be stored.
			c.Add(fmt.Sprintf("user_ids[%d]", i), validate.NotStorable)
		case id == "" || len(id) > maxUserIDLen:
			c.Add(fmt.Sprintf("user_ids[%d]", i), "must be a user id of 1 to 64 bytes")
		}
		if seen[id] {
			c.Add(fmt.Sprintf("user_ids[%d]", i), "is listed twice")
		}
		seen[id] = true
	}
}

func checkAttributes(c *validate.Checks, attrs map[string]*gamepb.GameAttribute) {
	if len(attrs) > maxAttributes {
		c.Add("attributes", "at most 64 attributes")
	}
	for k, v := range attrs {
		if k == "" || len(k) > maxAttrKeyLen || !validate.Storable(k) {
			// The key is not repeated in a field name: it may not be text.
			c.Add("attributes", "keys must be 1 to 64 bytes of UTF-8 without NUL")
			continue
		}
		if v == nil || v.GetValue() == nil {
			c.Add("attributes["+k+"]", "must have a value")
		} else if s, ok := v.GetValue().(*gamepb.GameAttribute_StringValue); ok &&
			(len(s.StringValue) > maxAttrStringLen || !validate.Storable(s.StringValue)) {
			c.Add("attributes["+k+"]", "string values are at most 1024 bytes of UTF-8 without NUL")
		}
	}
}

func checkRegion(c *validate.Checks, r *stdpb.RegionEnum) {
	if r == nil {
		return
	}
	if _, known := stdpb.RegionEnum_name[int32(*r)]; !known {
		c.Add("region", "unknown region")
	}
}

func checkState(c *validate.Checks, s gamepb.GameState) {
	if _, known := gamepb.GameState_name[int32(s)]; !known {
		c.Add("state", "unknown state")
	}
}
