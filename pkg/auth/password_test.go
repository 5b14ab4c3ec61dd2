package auth

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/oof-gg/platform/pkg/config"
)

// cheap keeps argon2 fast under -race; the cost is embedded in each hash, so
// tests do not depend on production parameters.
var cheap = config.PasswordHashConfig{MemoryKiB: 1024, Iterations: 1, Parallelism: 1}

func newHasher(t *testing.T, p config.PasswordHashConfig) *PasswordHasher {
	t.Helper()
	h, err := NewPasswordHasher(p)
	if err != nil {
		t.Fatalf("NewPasswordHasher: %v", err)
	}
	return h
}

func mustHash(t *testing.T, h *PasswordHasher, pw string) string {
	t.Helper()
	enc, err := h.Hash(pw)
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	return enc
}

func TestPasswordHashVerify(t *testing.T) {
	h := newHasher(t, cheap)
	cases := []struct {
		name     string
		hashed   string
		password string
		want     bool
	}{
		{"round trip", "correct horse battery staple", "correct horse battery staple", true},
		{"wrong password", "correct horse battery staple", "correct horse battery stapl", false},
		{"case matters", "Password1", "password1", false},
		{"empty password round trip", "", "", true},
		{"empty vs non-empty", "", "x", false},
		{"unicode", "pässwörd-ü", "pässwörd-ü", true},
		{"trailing space matters", "secret", "secret ", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			enc := mustHash(t, h, tc.hashed)
			if got := h.Verify(tc.password, enc); got != tc.want {
				t.Fatalf("Verify(%q, hash(%q)) = %v, want %v", tc.password, tc.hashed, got, tc.want)
			}
		})
	}
}

func TestPasswordHashFormat(t *testing.T) {
	h := newHasher(t, cheap)
	enc := mustHash(t, h, "pw")
	parts := strings.Split(enc, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v=19" {
		t.Fatalf("not a PHC argon2id string: %q", enc)
	}
	if want := fmt.Sprintf("m=%d,t=%d,p=%d", cheap.MemoryKiB, cheap.Iterations, cheap.Parallelism); parts[3] != want {
		t.Fatalf("params segment %q, want %q", parts[3], want)
	}
	if strings.Contains(enc, "pw$") || strings.HasSuffix(enc, "pw") {
		t.Fatalf("hash looks like it contains the password: %q", enc)
	}
}

func TestPasswordHashIsSalted(t *testing.T) {
	h := newHasher(t, cheap)
	a, b := mustHash(t, h, "same password"), mustHash(t, h, "same password")
	if a == b {
		t.Fatalf("two hashes of one password are identical (no salt?): %q", a)
	}
	saltA, saltB := strings.Split(a, "$")[4], strings.Split(b, "$")[4]
	if saltA == saltB {
		t.Fatalf("salts are identical: %q", saltA)
	}
	if !h.Verify("same password", a) || !h.Verify("same password", b) {
		t.Fatal("salted hashes must both verify")
	}
}

func TestPasswordParamsEmbedded(t *testing.T) {
	old := newHasher(t, config.PasswordHashConfig{MemoryKiB: 2048, Iterations: 2, Parallelism: 2})
	enc := mustHash(t, old, "migrated")
	// A hasher configured with other costs still verifies the old hash,
	// because the cost is read from the hash, not from the hasher.
	current := newHasher(t, cheap)
	if !current.Verify("migrated", enc) {
		t.Fatal("hash made with other params does not verify")
	}
	if current.Verify("not it", enc) {
		t.Fatal("wrong password verified against a hash with other params")
	}
	// And tampering with the embedded params changes the derived key.
	tampered := strings.Replace(enc, "t=2", "t=3", 1)
	if current.Verify("migrated", tampered) {
		t.Fatal("hash with altered params still verified")
	}
}

func TestPasswordVerifyRejectsMalformed(t *testing.T) {
	h := newHasher(t, cheap)
	good := mustHash(t, h, "pw")
	parts := strings.Split(good, "$")
	join := func(p ...string) string { return strings.Join(p, "$") }
	cases := []struct {
		name string
		enc  string
	}{
		{"garbage", "not a hash"},
		{"just dollars", "$$$$$"},
		{"truncated to prefix", "$argon2id$"},
		{"truncated key segment", join(parts[:5]...)},
		{"truncated mid key", good[:len(good)-10]},
		{"extra segment", good + "$extra"},
		{"argon2i", join("", "argon2i", parts[2], parts[3], parts[4], parts[5])},
		{"argon2d", join("", "argon2d", parts[2], parts[3], parts[4], parts[5])},
		{"bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
		{"scrypt", "$scrypt$ln=16,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E"},
		{"other version", join("", "argon2id", "v=16", parts[3], parts[4], parts[5])},
		{"version not a number", join("", "argon2id", "v=x", parts[3], parts[4], parts[5])},
		{"params missing", join("", "argon2id", parts[2], "", parts[4], parts[5])},
		{"params garbage", join("", "argon2id", parts[2], "m=a,t=b,p=c", parts[4], parts[5])},
		{"parallelism overflows uint8", join("", "argon2id", parts[2], "m=1024,t=1,p=256", parts[4], parts[5])},
		{"salt not base64", join("", "argon2id", parts[2], parts[3], "!!!", parts[5])},
		{"key not base64", join("", "argon2id", parts[2], parts[3], parts[4], "***")},
		{"key empty", join("", "argon2id", parts[2], parts[3], parts[4], "")},
		{"padded base64 key", join("", "argon2id", parts[2], parts[3], parts[4], parts[5]+"=")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("Verify panicked on %q: %v", tc.enc, r)
				}
			}()
			if h.Verify("pw", tc.enc) {
				t.Fatalf("Verify accepted malformed hash %q", tc.enc)
			}
		})
	}
}

// Hashes whose embedded cost is zero would make argon2 panic; Verify must
// reject them (and absurd costs) like any malformed hash.
func TestPasswordVerifyZeroCostParams(t *testing.T) {
	h := newHasher(t, cheap)
	parts := strings.Split(mustHash(t, h, "pw"), "$")
	for _, params := range []string{"m=1024,t=0,p=1", "m=1024,t=1,p=0"} {
		t.Run(params, func(t *testing.T) {
			enc := strings.Join([]string{"", "argon2id", parts[2], params, parts[4], parts[5]}, "$")
			var ok, panicked bool
			func() {
				defer func() { panicked = recover() != nil }()
				ok = h.Verify("pw", enc)
			}()
			if panicked {
				t.Fatalf("Verify panics on %q instead of rejecting it", params)
			}
			if ok {
				t.Fatalf("Verify accepted %q", enc)
			}
		})
	}
}

func TestPasswordVerifyEmptyEncoded(t *testing.T) {
	h := newHasher(t, cheap)
	for _, pw := range []string{"", "pw", "not-a-real-password-just-timing"} {
		if h.Verify(pw, "") {
			t.Fatalf("Verify(%q, \"\") = true; an empty hash must never verify", pw)
		}
	}
	// The timing dummy is a real hash of the configured cost.
	if !strings.HasPrefix(h.dummy, "$argon2id$v=19$m=1024,t=1,p=1$") {
		t.Fatalf("dummy hash %q does not use the configured cost", h.dummy)
	}
}

// Hash (Register) and Verify (Login) share one set of slots: with every
// slot taken, neither runs, so registrations cannot add hashing load beyond
// what logins are already bounded to.
func TestHashAndVerifyShareSlots(t *testing.T) {
	h := newHasher(t, cheap)
	enc := mustHash(t, h, "password1")
	for range cap(h.slots) {
		h.slots <- struct{}{}
	}
	done := make(chan string, 2)
	go func() { _, _ = h.Hash("password1"); done <- "hash" }()
	go func() { h.Verify("password1", enc); done <- "verify" }()
	select {
	case what := <-done:
		t.Fatalf("%s ran while every hashing slot was taken", what)
	case <-time.After(200 * time.Millisecond):
	}
	for range cap(h.slots) {
		<-h.slots
	}
	for range 2 {
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("hashing did not resume once slots were free")
		}
	}
}
