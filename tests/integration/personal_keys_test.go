package integration

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/oof-gg/platform/pkg/personal"
)

// sealFor seals value for subject in a committed transaction.
func sealFor(t *testing.T, ctx context.Context, subject, value string) (sealed []byte, keyID string) {
	t.Helper()
	tx, err := env.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // no-op after commit
	if sealed, keyID, err = personal.Seal(ctx, tx, subject, personal.FieldEmail, value); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	return sealed, keyID
}

// The key cache: keys are cached while the listener runs (a key destroyed
// behind its back, with no notification, is still served: the cache is
// real), an erasure's notification drops them at once, Forget drops them
// without one, and without the listener nothing is cached. A subject gets
// one live key however often it is sealed for, and a new one after its
// erasure.
func TestPersonalKeyCache(t *testing.T) {
	ctx := testCtx(t)
	subject := uuid.NewString()
	sealed, keyID := sealFor(t, ctx, subject, "cache@example.com")
	if _, again := sealFor(t, ctx, subject, "second@example.com"); again != keyID {
		t.Fatalf("a second seal made key %s, want the live key %s", again, keyID)
	}
	open := func(k *personal.Keys) (string, error) {
		return k.Open(ctx, keyID, personal.FieldEmail, sealed)
	}
	destroyQuietly := func(dek []byte) {
		t.Helper()
		// dek nil: destroy (no NOTIFY); else restore it.
		erasedAt := any(nil)
		if dek == nil {
			erasedAt = time.Now()
		}
		if _, err := env.Pool.Exec(ctx, `UPDATE personal_keys SET dek = $2, erased_at = $3 WHERE key_id = $1`, keyID, dek, erasedAt); err != nil {
			t.Fatal(err)
		}
	}
	var dek []byte
	if err := env.Pool.QueryRow(ctx, `SELECT dek FROM personal_keys WHERE key_id = $1`, keyID).Scan(&dek); err != nil {
		t.Fatal(err)
	}

	// Not listening: every Open reads PostgreSQL.
	cold := personal.NewKeys(env.Pool, nil)
	if v, err := open(cold); err != nil || v != "cache@example.com" {
		t.Fatalf("open: %q, %v", v, err)
	}
	destroyQuietly(nil)
	if _, err := open(cold); !errors.Is(err, personal.ErrErased) {
		t.Fatalf("an unlistening cache served a destroyed key: %v", err)
	}
	destroyQuietly(dek)

	// Listening: cached until told.
	keys := personal.NewKeys(env.Pool, nil)
	lctx, stop := context.WithCancel(ctx)
	defer stop()
	go keys.Listen(lctx)
	waitFor(t, func() bool {
		// Cached once the listener is up: a quiet destroy does not show.
		keys.Forget(subject)
		if _, err := open(keys); err != nil {
			t.Fatal(err)
		}
		destroyQuietly(nil)
		_, err := open(keys)
		destroyQuietly(dek)
		return err == nil
	})
	destroyQuietly(nil)
	if v, err := open(keys); err != nil || v != "cache@example.com" {
		t.Fatalf("the cache did not serve the key: %q, %v", v, err)
	}
	keys.Forget(subject)
	if _, err := open(keys); !errors.Is(err, personal.ErrErased) {
		t.Fatalf("Forget kept the key: %v", err)
	}
	destroyQuietly(dek) // (never done for real: keys are not restored)
	keys.Forget(subject)
	if _, err := open(keys); err != nil {
		t.Fatal(err)
	}

	// A real erasure notifies at commit: the cached key is dropped.
	tx, err := env.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	destroyed, changed, err := personal.Erase(ctx, tx, subject, uuid.NewString())
	if err != nil || !changed || len(destroyed) != 1 || destroyed[0] != keyID {
		t.Fatalf("erase: %v %v %v", destroyed, changed, err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { _, err := open(keys); return errors.Is(err, personal.ErrErased) })
	if erased, err := keys.SubjectErased(ctx, subject); err != nil || !erased {
		t.Fatalf("SubjectErased after erasure: %v, %v", erased, err)
	}
	if _, next := sealFor(t, ctx, subject, "new@example.com"); next == keyID || next == "" {
		t.Fatalf("a seal after the erasure used key %q", next)
	}
}
