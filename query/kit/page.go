// Package kit is what the query handlers share: paging and read-model
// snapshot decoding.
package kit

import (
	"encoding/base64"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/oof-gg/platform/pkg/apperr"
)

const (
	DefaultPageSize = 20
	MaxPageSize     = 100
)

// PageSize validates an optional limit.
func PageSize(limit *int32) (int, error) {
	if limit == nil || *limit == 0 {
		return DefaultPageSize, nil
	}
	if *limit < 0 || *limit > MaxPageSize {
		return 0, apperr.Invalid("limit", "must be between 1 and 100")
	}
	return int(*limit), nil
}

// Cursors are opaque to clients: "k:" + the last id of a page (keyset
// paging over UUIDv7 ids, which are ordered by creation), or "o:" + an
// offset for ranked lists.

// KeyCursor encodes the id after which the next page starts.
func KeyCursor(lastID string) string {
	return base64.RawURLEncoding.EncodeToString([]byte("k:" + lastID))
}

// ParseKeyCursor returns the id a page starts after ("" for the first page).
func ParseKeyCursor(c *string) (string, error) {
	if c == nil || *c == "" {
		return "", nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(*c)
	id, ok := strings.CutPrefix(string(raw), "k:")
	if err != nil || !ok {
		return "", apperr.Invalid("cursor", "not a cursor from this API")
	}
	if _, err := uuid.Parse(id); err != nil {
		return "", apperr.Invalid("cursor", "not a cursor from this API")
	}
	return id, nil
}

// OffsetCursor encodes a position in a ranked list.
func OffsetCursor(offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("o:" + strconv.Itoa(offset)))
}

// ParseOffsetCursor returns the position a page starts at.
func ParseOffsetCursor(c *string) (int, error) {
	if c == nil || *c == "" {
		return 0, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(*c)
	n, ok := strings.CutPrefix(string(raw), "o:")
	off, perr := strconv.Atoi(n)
	if err != nil || !ok || perr != nil || off < 0 || off > 1_000_000 {
		return 0, apperr.Invalid("cursor", "not a cursor from this API")
	}
	return off, nil
}
