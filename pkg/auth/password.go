package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"

	"golang.org/x/crypto/argon2"

	"github.com/oof-gg/platform/pkg/config"
)

// PasswordHasher hashes and verifies passwords with argon2id, encoded in the
// usual PHC string form so the cost can change without invalidating old hashes.
type PasswordHasher struct {
	params config.PasswordHashConfig
	// dummy is verified when an account does not exist, so a failed login
	// costs the same time whether or not the user is known.
	dummy string
	// slots bounds concurrent hashes to the CPUs: more would only share the
	// cores slower and multiply memory (each hash takes MemoryKiB).
	slots chan struct{}
}

// NewPasswordHasher returns a hasher with the given cost.
func NewPasswordHasher(p config.PasswordHashConfig) (*PasswordHasher, error) {
	h := &PasswordHasher{params: p, slots: make(chan struct{}, runtime.GOMAXPROCS(0))}
	dummy, err := h.Hash("not-a-real-password-just-timing")
	if err != nil {
		return nil, err
	}
	h.dummy = dummy
	return h, nil
}

// Hash returns the PHC-encoded argon2id hash of password.
func (h *PasswordHasher) Hash(password string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("read salt: %w", err)
	}
	key := h.idKey([]byte(password), salt, h.params.Iterations, h.params.MemoryKiB, h.params.Parallelism, 32)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version,
		h.params.MemoryKiB, h.params.Iterations, h.params.Parallelism,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// Verify reports whether password matches encoded. An empty encoded hash (no
// account, or an account without a password) verifies against a dummy hash
// and always fails, taking the same time as a real check.
func (h *PasswordHasher) Verify(password, encoded string) bool {
	if encoded == "" {
		_, _ = h.verifyPHC(password, h.dummy)
		return false
	}
	ok, err := h.verifyPHC(password, encoded)
	return err == nil && ok
}

var errBadHash = errors.New("malformed argon2id hash")

func (h *PasswordHasher) verifyPHC(password, encoded string) (bool, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, errBadHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, errBadHash
	}
	var mem, iter uint32
	var par uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &mem, &iter, &par); err != nil {
		return false, errBadHash
	}
	// A stored hash names its own cost: bound it, so a corrupt or hostile
	// row can neither crash argon2 (t or p of 0) nor allocate without limit.
	if iter < 1 || iter > 100 || par < 1 || mem < 8*uint32(par) || mem > 4*1024*1024 {
		return false, errBadHash
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil {
		return false, errBadHash
	}
	want, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(want) == 0 {
		return false, errBadHash
	}
	got := h.idKey([]byte(password), salt, iter, mem, par, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

func (h *PasswordHasher) idKey(password, salt []byte, iter, mem uint32, par uint8, n uint32) []byte {
	h.slots <- struct{}{}
	defer func() { <-h.slots }()
	return argon2.IDKey(password, salt, iter, mem, par, n)
}
