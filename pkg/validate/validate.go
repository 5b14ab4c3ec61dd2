// Package validate collects request-field violations so a client learns about
// every bad field at once; commands and queries share it.
package validate

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/oof-gg/platform/pkg/apperr"
)

// MaxDataBytes bounds the free-form JSON carried by games, sessions,
// entities and events.
const MaxDataBytes = 64 << 10

// Checks accumulates the field violations of one request, so a client
// learns about every bad field at once.
type Checks []apperr.FieldViolation

// Add records a violation.
func (c *Checks) Add(field, problem string) {
	*c = append(*c, apperr.FieldViolation{Field: field, Description: problem})
}

// Err is nil when nothing was recorded, else INVALID_ARGUMENT.
func (c Checks) Err() error {
	if len(c) == 0 {
		return nil
	}
	return apperr.InvalidFields(c)
}

// NotStorable is the problem reported for text Storable refuses.
const NotStorable = "must be valid UTF-8 without NUL (U+0000) characters"

// Storable reports whether v can be kept as PostgreSQL text: valid UTF-8
// without NUL, which a text column cannot hold (and many clients treat as
// the end of a string). Every text field a command accepts must pass it, so
// whatever a command accepts, every projector can store — today some of it
// lands in text columns (games.name, match_history.user_ids), and any other
// field may tomorrow.
func Storable(v string) bool {
	return utf8.ValidString(v) && strings.IndexByte(v, 0) < 0
}

// Text requires storable text (see Storable) of min..max characters.
func (c *Checks) Text(field, v string, min, max int) {
	if !Storable(v) {
		c.Add(field, NotStorable)
		return
	}
	if n := utf8.RuneCountInString(v); n < min || n > max {
		c.Add(field, "must be "+strconv.Itoa(min)+" to "+strconv.Itoa(max)+" characters")
	}
}

// Positive requires a plainly written integer in 1..1000000 (counts travel
// as strings on the wire).
func (c *Checks) Positive(field, v string) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 1_000_000 || strconv.Itoa(n) != v {
		c.Add(field, "must be a positive integer up to 1000000, written plainly (e.g. \"8\")")
	}
}

// JSON requires optional data to be valid JSON of at most MaxDataBytes.
// encoding/json does not check UTF-8 inside strings, so Storable does: data
// travels in protobuf strings, which must be UTF-8. (Valid JSON never holds
// a raw NUL; an escaped "\u0000" is kept as written, in bytea snapshots.)
func (c *Checks) JSON(field string, v *string) {
	if v != nil && (len(*v) > MaxDataBytes || !Storable(*v) || !json.Valid([]byte(*v))) {
		c.Add(field, "must be valid JSON of at most 64 KiB")
	}
}

// ID requires a UUID.
func (c *Checks) ID(field, v string) {
	if _, err := uuid.Parse(v); err != nil || len(v) != 36 {
		c.Add(field, "must be an id (UUID)")
	}
}

// Count parses a count already checked by Positive.
func Count(v string) int {
	n, _ := strconv.Atoi(v)
	return n
}
