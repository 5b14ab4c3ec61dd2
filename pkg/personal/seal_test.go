package personal

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"
)

// A sealed value opens only with its key, key id and field, and any
// change to it is detected (AES-GCM with both bound as additional data).
func TestSealOpen(t *testing.T) {
	dek, other := make([]byte, 32), make([]byte, 32)
	_, _ = rand.Read(dek)
	_, _ = rand.Read(other)
	sealed, err := encrypt(dek, "k1", FieldEmail, "ada@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("ada@example.com")) || sealed[0] != sealVersion {
		t.Fatalf("sealed value %x", sealed)
	}
	if v, err := decrypt(dek, "k1", FieldEmail, sealed); err != nil || v != "ada@example.com" {
		t.Fatalf("open: %q, %v", v, err)
	}
	again, _ := encrypt(dek, "k1", FieldEmail, "ada@example.com")
	if bytes.Equal(again, sealed) {
		t.Fatal("two seals of one value must differ (random nonce)")
	}
	tampered := bytes.Clone(sealed)
	tampered[len(tampered)-1] ^= 1
	for name, c := range map[string]struct {
		dek          []byte
		keyID, field string
		sealed       []byte
	}{
		"other key":     {other, "k1", FieldEmail, sealed},
		"other key id":  {dek, "k2", FieldEmail, sealed},
		"other field":   {dek, "k1", "username", sealed},
		"tampered":      {dek, "k1", FieldEmail, tampered},
		"truncated":     {dek, "k1", FieldEmail, sealed[:10]},
		"empty":         {dek, "k1", FieldEmail, nil},
		"wrong version": {dek, "k1", FieldEmail, append([]byte{2}, sealed[1:]...)},
	} {
		if _, err := decrypt(c.dek, c.keyID, c.field, c.sealed); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", name, err)
		}
	}
}
