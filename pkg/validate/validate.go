// Package validate collects request-field violations so a client learns about
// every bad field at once; commands and queries share it.
package validate

import (
	"encoding/json"
	"strconv"
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

// Text requires valid UTF-8 of min..max characters.
func (c *Checks) Text(field, v string, min, max int) {
	n := utf8.RuneCountInString(v)
	if !utf8.ValidString(v) || n < min || n > max {
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
func (c *Checks) JSON(field string, v *string) {
	if v != nil && (len(*v) > MaxDataBytes || !json.Valid([]byte(*v))) {
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
