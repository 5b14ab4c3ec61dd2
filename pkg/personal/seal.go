// Package personal keeps personal data erasable on an append-only log
// (docs/events.md, "Personal data"): the personal fields of events (e-mail
// addresses) are sealed with a per-person AES-256-GCM key kept in
// PostgreSQL (personal_keys), and erasing a person destroys the key instead
// of rewriting Kafka. Commands seal (Seal, inside their transaction);
// projectors and `oof tail` open (Keys.Open, Reveal), and show a field whose
// key is gone as erased.
package personal

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// sealVersion is the first byte of every sealed value: the format
// (AES-256-GCM, 12-byte random nonce, additional data = key id + field)
// can change without guessing.
const sealVersion = 1

// Errors of Open. ErrErased is the expected outcome after an erasure.
var (
	ErrErased    = errors.New("personal data erased")
	ErrMalformed = errors.New("malformed sealed value")
)

// Querier runs a query in the caller's transaction: pgx.Tx and the
// command side's aggregate.Tx both are one.
type Querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Seal encrypts value for subject (a user id) under the subject's live key,
// creating the key in q's transaction when the subject has none (so the
// key commits with the event that needs it). field names the event field;
// it is bound into the ciphertext so a sealed value cannot be moved to
// another field or key. An empty value seals to nothing.
func Seal(ctx context.Context, q Querier, subject, field, value string) (sealed []byte, keyID string, err error) {
	if value == "" {
		return nil, "", nil
	}
	keyID, dek, err := liveKey(ctx, q, subject)
	if err != nil {
		return nil, "", err
	}
	sealed, err = encrypt(dek, keyID, field, value)
	return sealed, keyID, err
}

// liveKey returns the subject's live key, inserting a new one when there is
// none. The insert and the read are one statement; when a concurrent
// transaction inserted the key first (ON CONFLICT waits for it, then does
// nothing, and the statement's snapshot predates it) a second read sees it.
func liveKey(ctx context.Context, q Querier, subject string) (string, []byte, error) {
	dek := make([]byte, 32)
	if _, err := rand.Read(dek); err != nil {
		return "", nil, fmt.Errorf("personal key: %w", err)
	}
	var keyID string
	var got []byte
	err := q.QueryRow(ctx, `WITH ins AS (
			INSERT INTO personal_keys (key_id, subject_id, dek) VALUES ($1::uuid, $2, $3)
			ON CONFLICT (subject_id) WHERE erased_at IS NULL DO NOTHING
			RETURNING key_id, dek)
		SELECT key_id::text, dek FROM ins
		UNION ALL
		SELECT key_id::text, dek FROM personal_keys WHERE subject_id = $2 AND erased_at IS NULL
		LIMIT 1`, uuid.NewString(), subject, dek).Scan(&keyID, &got)
	if errors.Is(err, pgx.ErrNoRows) {
		err = q.QueryRow(ctx, `SELECT key_id::text, dek FROM personal_keys
			WHERE subject_id = $1 AND erased_at IS NULL`, subject).Scan(&keyID, &got)
	}
	if err != nil {
		return "", nil, fmt.Errorf("personal key of %s: %w", subject, err)
	}
	return keyID, got, nil
}

func aead(dek []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(dek)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func encrypt(dek []byte, keyID, field, value string) ([]byte, error) {
	a, err := aead(dek)
	if err != nil {
		return nil, fmt.Errorf("seal %s: %w", field, err)
	}
	out := make([]byte, 1+a.NonceSize(), 1+a.NonceSize()+len(value)+a.Overhead())
	out[0] = sealVersion
	if _, err := rand.Read(out[1:]); err != nil {
		return nil, fmt.Errorf("seal %s: %w", field, err)
	}
	return a.Seal(out, out[1:], []byte(value), additional(keyID, field)), nil
}

func decrypt(dek []byte, keyID, field string, sealed []byte) (string, error) {
	a, err := aead(dek)
	if err != nil {
		return "", err
	}
	if len(sealed) < 1+a.NonceSize()+a.Overhead() || sealed[0] != sealVersion {
		return "", ErrMalformed
	}
	nonce, body := sealed[1:1+a.NonceSize()], sealed[1+a.NonceSize():]
	plain, err := a.Open(nil, nonce, body, additional(keyID, field))
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return string(plain), nil
}

func additional(keyID, field string) []byte { return []byte(keyID + "\x00" + field) }
