package auth

import (
	"net/mail"
	"strings"
	"unicode/utf8"

	"github.com/oof-gg/platform/pkg/apperr"
	"github.com/oof-gg/platform/pkg/validate"
)

const (
	minPasswordLen   = 8   // characters
	maxPasswordBytes = 128 // bytes: bounds the hashing cost of one request
	maxEmailLen      = 254
)

// validateUsername: 3–32 of [A-Za-z0-9_.-].
func validateUsername(u string) string {
	if len(u) < 3 || len(u) > 32 {
		return "must be 3 to 32 characters"
	}
	for _, c := range u {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return "may contain only letters, digits, '_', '.' and '-'"
		}
	}
	return ""
}

// validateEmail accepts a plain addr-spec with a dotted domain; display
// names and comments ("Bob <b@x.io>") are refused.
func validateEmail(e string) string {
	if e == "" || len(e) > maxEmailLen {
		return "must be an e-mail address of at most 254 characters"
	}
	a, err := mail.ParseAddress(e)
	if err != nil || a.Address != e || a.Name != "" {
		return "must be a valid e-mail address"
	}
	local, domain, _ := strings.Cut(e, "@")
	if local == "" || !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") ||
		strings.HasSuffix(domain, ".") || strings.Contains(domain, "..") {
		return "must be a valid e-mail address"
	}
	return ""
}

func validatePassword(p string) string {
	if len(p) > maxPasswordBytes {
		return "must be at most 128 bytes"
	}
	if !utf8.ValidString(p) {
		return "must be valid UTF-8"
	}
	if utf8.RuneCountInString(p) < minPasswordLen {
		return "must be at least 8 characters"
	}
	return ""
}

// RegisterInput is a registration request.
type RegisterInput struct {
	Username, Email, Password string
}

// Validate reports every invalid field.
func (in RegisterInput) Validate() error {
	var v []apperr.FieldViolation
	for _, c := range []struct{ field, problem string }{
		{"username", validateUsername(in.Username)},
		{"email", validateEmail(in.Email)},
		{"password", validatePassword(in.Password)},
	} {
		if c.problem != "" {
			v = append(v, apperr.FieldViolation{Field: c.field, Description: c.problem})
		}
	}
	if len(v) > 0 {
		return apperr.InvalidFields(v)
	}
	return nil
}

// LoginInput is a login request; Identifier is a username or an e-mail.
type LoginInput struct {
	Identifier, Password string
}

// Validate checks only shape: whether the account exists is never revealed
// by validation.
func (in LoginInput) Validate() error {
	var v []apperr.FieldViolation
	if in.Identifier == "" || len(in.Identifier) > maxEmailLen {
		v = append(v, apperr.FieldViolation{Field: "username", Description: "must be a username or e-mail of at most 254 characters"})
	} else if !validate.Storable(in.Identifier) {
		// It is looked up in a text column, which cannot hold NUL: PostgreSQL
		// would refuse the query rather than find nothing.
		v = append(v, apperr.FieldViolation{Field: "username", Description: validate.NotStorable})
	}
	if in.Password == "" || len(in.Password) > maxPasswordBytes {
		v = append(v, apperr.FieldViolation{Field: "password", Description: "must be 1 to 128 bytes"})
	}
	if len(v) > 0 {
		return apperr.InvalidFields(v)
	}
	return nil
}
