package validate

import (
	"strings"
	"testing"

	"github.com/oof-gg/platform/pkg/apperr"
)

func TestStorable(t *testing.T) {
	cases := []struct {
		name string
		v    string
		want bool
	}{
		{"empty", "", true},
		{"ascii", "hello", true},
		{"last BMP code point U+FFFF", "\uffff", true},
		{"last code point U+10FFFF", "\U0010ffff", true},
		{"4-byte emoji", "🎮👾", true},
		{"combining marks", "e\u0301\u0308\u20dd", true},
		{"right-to-left text and marks", "\u202eשלום\u200f", true},
		{"other control characters", "\x01\x1f\x7f\t\n", true},
		{"replacement character", "\ufffd", true},
		{"NUL alone", "\x00", false},
		{"NUL inside", "ab\x00cd", false},
		{"NUL at the end", "abc\x00", false},
		{"invalid UTF-8 byte", "\xff", false},
		{"truncated sequence", "\xe2\x82", false},
		{"encoded surrogate half", "\xed\xa0\x80", false},
		{"overlong NUL", "\xc0\x80", false},
		{"beyond U+10FFFF", "\xf4\x90\x80\x80", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Storable(tc.v); got != tc.want {
				t.Fatalf("Storable(%q) = %v, want %v", tc.v, got, tc.want)
			}
		})
	}
}

func TestText(t *testing.T) {
	cases := []struct {
		name     string
		v        string
		min, max int
		problem  string // "" means accepted
	}{
		{"within bounds", "abc", 1, 3, ""},
		{"empty allowed", "", 0, 3, ""},
		{"counts characters, not bytes", strings.Repeat("\U0010ffff", 3), 1, 3, ""},
		{"too long", "abcd", 1, 3, "must be 1 to 3 characters"},
		{"too short", "", 1, 3, "must be 1 to 3 characters"},
		{"NUL within bounds", "a\x00", 0, 3, NotStorable},
		{"invalid UTF-8 within bounds", "a\xff", 0, 3, NotStorable},
		{"NUL and too long: the content problem is reported", "\x00bcdef", 1, 3, NotStorable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var c Checks
			c.Text("f", tc.v, tc.min, tc.max)
			switch {
			case tc.problem == "" && len(c) != 0:
				t.Fatalf("Text(%q) refused: %v", tc.v, c)
			case tc.problem != "" && (len(c) != 1 || c[0].Field != "f" || c[0].Description != tc.problem):
				t.Fatalf("Text(%q) = %v, want one violation of f: %q", tc.v, c, tc.problem)
			}
			if err := c.Err(); (err != nil) != (tc.problem != "") || (err != nil && !apperr.Is(err, apperr.KindInvalid)) {
				t.Fatalf("Err() = %v", err)
			}
		})
	}
}
