package auth

import (
	"net/mail"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/oof-gg/platform/pkg/apperr"
	"github.com/oof-gg/platform/pkg/validate"
)

func TestRegisterInputValidate(t *testing.T) {
	ok := RegisterInput{Username: "player.one-2_x", Email: "p1@example.com", Password: "12345678"}
	cases := []struct {
		name   string
		mutate func(*RegisterInput)
		fields []string
	}{
		{"valid", func(*RegisterInput) {}, nil},
		{"username 3 chars", func(in *RegisterInput) { in.Username = "abc" }, nil},
		{"username 32 chars", func(in *RegisterInput) { in.Username = strings.Repeat("a", 32) }, nil},
		{"username 2 chars", func(in *RegisterInput) { in.Username = "ab" }, []string{"username"}},
		{"username 33 chars", func(in *RegisterInput) { in.Username = strings.Repeat("a", 33) }, []string{"username"}},
		{"username slash", func(in *RegisterInput) { in.Username = "a/b/c" }, []string{"username"}},
		{"email without at", func(in *RegisterInput) { in.Email = "example.com" }, []string{"email"}},
		{"email without tld", func(in *RegisterInput) { in.Email = "a@b" }, []string{"email"}},
		{"email double dot", func(in *RegisterInput) { in.Email = "a@b..com" }, []string{"email"}},
		{"email too long", func(in *RegisterInput) { in.Email = strings.Repeat("a", 250) + "@b.io" }, []string{"email"}},
		{"password 7 chars", func(in *RegisterInput) { in.Password = "1234567" }, []string{"password"}},
		{"password 8 runes of 2 bytes", func(in *RegisterInput) { in.Password = strings.Repeat("é", 8) }, nil},
		{"password 128 bytes", func(in *RegisterInput) { in.Password = strings.Repeat("a", 128) }, nil},
		{"password 129 bytes", func(in *RegisterInput) { in.Password = strings.Repeat("a", 129) }, []string{"password"}},
		{"everything wrong", func(in *RegisterInput) { *in = RegisterInput{} }, []string{"username", "email", "password"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := ok
			tc.mutate(&in)
			err := in.Validate()
			var got []string
			if err != nil {
				ae, isApp := err.(*apperr.Error)
				if !isApp || ae.Kind != apperr.KindInvalid {
					t.Fatalf("want an invalid-argument error, got %v", err)
				}
				for _, f := range ae.Fields {
					got = append(got, f.Field)
				}
			}
			if strings.Join(got, ",") != strings.Join(tc.fields, ",") {
				t.Fatalf("invalid fields %v, want %v", got, tc.fields)
			}
		})
	}
}

// FuzzRegisterInput: whatever the input, validation never panics, and
// anything it accepts satisfies every documented rule.
func FuzzRegisterInput(f *testing.F) {
	f.Add("player_1", "p@example.com", "password123")
	f.Add("ab", "bad", "short")
	f.Add("a.b-c", "\"q\"@example.com", strings.Repeat("é", 64))
	f.Add("名前名前", "a@b.c", "\x00\x00\x00\x00\x00\x00\x00\x00")
	f.Fuzz(func(t *testing.T, username, email, password string) {
		in := RegisterInput{Username: username, Email: email, Password: password}
		if err := in.Validate(); err != nil {
			if !apperr.Is(err, apperr.KindInvalid) {
				t.Fatalf("validation error of the wrong kind: %v", err)
			}
			return
		}
		if len(username) < 3 || len(username) > 32 || strings.Trim(username, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != "" {
			t.Fatalf("accepted username %q", username)
		}
		if a, err := mail.ParseAddress(email); err != nil || a.Address != email || len(email) > 254 {
			t.Fatalf("accepted e-mail %q", email)
		}
		if len(password) > 128 || utf8.RuneCountInString(password) < 8 || !utf8.ValidString(password) {
			t.Fatalf("accepted password of %d bytes", len(password))
		}
	})
}

func FuzzLoginInput(f *testing.F) {
	f.Add("player_1", "password123")
	f.Add("", "")
	f.Add(strings.Repeat("a", 300), strings.Repeat("b", 300))
	f.Add("nul\x00name", "password123")
	f.Fuzz(func(t *testing.T, id, password string) {
		err := LoginInput{Identifier: id, Password: password}.Validate()
		valid := id != "" && len(id) <= 254 && validate.Storable(id) && password != "" && len(password) <= 128
		if (err == nil) != valid {
			t.Fatalf("Validate(%q, %d bytes) = %v, want valid=%v", id, len(password), err, valid)
		}
	})
}

func TestTwitchUsername(t *testing.T) {
	cases := map[TwitchIdentity]string{
		{Login: "CoolStreamer", UserID: "1"}:          "CoolStreamer",
		{Login: "名前", UserID: "123456"}:               "twitch_123456",
		{Login: strings.Repeat("x", 40), UserID: "1"}: strings.Repeat("x", 32),
		{Login: "a b!c", UserID: "1"}:                 "abc",
	}
	for in, want := range cases {
		if got := twitchUsername(in); got != want || validateUsername(got) != "" {
			t.Errorf("twitchUsername(%q) = %q (valid: %q), want %q", in.Login, got, validateUsername(got), want)
		}
	}
}
