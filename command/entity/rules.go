package entity

import (
	"fmt"
	"maps"
	"slices"

	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	"github.com/oof-gg/platform/pkg/apperr"
	"github.com/oof-gg/platform/pkg/validate"
)

const (
	maxNameLen       = 100
	maxTypeLen       = 64
	maxPlayerIDLen   = 64
	maxAttributes    = 64
	maxAttrKeyLen    = 64
	maxAttrStringLen = 1024
)

// checkIDs requires the three ids every entity request carries.
func checkIDs(c *validate.Checks, id, sessionID, gameID string) {
	c.ID("id", id)
	c.ID("session_id", sessionID)
	c.ID("game_id", gameID)
}

func checkAttributes(c *validate.Checks, attrs map[string]*gamepb.EntityAttribute) {
	if len(attrs) > maxAttributes {
		c.Add("attributes", "at most 64 attributes")
	}
	for k, v := range attrs {
		if k == "" || len(k) > maxAttrKeyLen || !validate.Storable(k) {
			// The key is not repeated in a field name: it may not be text.
			c.Add("attributes", "keys must be 1 to 64 bytes of UTF-8 without NUL")
			continue
		}
		if v.GetValue() == nil {
			c.Add("attributes["+k+"]", "must have a value")
		} else {
			checkValue(c, "attributes["+k+"]", v)
		}
	}
}

// checkUpdateValues checks an update's positional values; an element without
// a value is allowed there (it keeps the current value, see applyValues).
func checkUpdateValues(c *validate.Checks, values []*gamepb.EntityAttribute) {
	if len(values) > maxAttributes {
		c.Add("attributes", "at most 64 attributes")
		return
	}
	for i, v := range values {
		checkValue(c, fmt.Sprintf("attributes[%d]", i), v)
	}
}

func checkValue(c *validate.Checks, field string, v *gamepb.EntityAttribute) {
	if s, ok := v.GetValue().(*gamepb.EntityAttribute_StringValue); ok && (len(s.StringValue) > maxAttrStringLen || !validate.Storable(s.StringValue)) {
		c.Add(field, "string values are at most 1024 bytes of UTF-8 without NUL")
	}
}

func checkController(c *validate.Checks, v gamepb.EntityCreateRequest_ControllerStateEnum) {
	if _, known := gamepb.EntityCreateRequest_ControllerStateEnum_name[int32(v)]; !known {
		c.Add("controller", "unknown controller (SERVER or PLAYER)")
	}
}

// applyValues is how UpdateEntity changes attributes. The contract's
// EntityUpdateRequest.attributes is a list without keys, so:
//
//   - an entity's attribute keys are fixed when it is created (nothing in an
//     update can name a key), so clients know them;
//   - an empty list changes no attribute;
//   - otherwise the list holds exactly one element per key, in ascending
//     byte order of the keys (Go's sort.Strings; JS's default sort for
//     ASCII keys), and element i replaces the value of the i-th key;
//   - an element with no value set keeps that key's current value, so a
//     client can change one attribute without resending the others.
//
// A list of any other length is INVALID_ARGUMENT: guessing would silently
// put values under the wrong keys.
func applyValues(e *gamepb.Entity, values []*gamepb.EntityAttribute) error {
	if len(values) == 0 {
		return nil
	}
	keys := slices.Sorted(maps.Keys(e.GetAttributes()))
	if len(values) != len(keys) {
		return apperr.Invalid("attributes", fmt.Sprintf(
			"must hold one value per attribute key of the entity (%d), in ascending key order; empty changes nothing", len(keys)))
	}
	for i, k := range keys {
		if values[i].GetValue() != nil {
			e.Attributes[k] = values[i]
		}
	}
	return nil
}
