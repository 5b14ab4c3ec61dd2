package personal

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Channel is the PostgreSQL NOTIFY channel an erasure announces its subject
// on, at its commit; every process's Keys cache drops that subject.
const Channel = "oof_personal_erased"

// maxCached bounds the cache; when full it starts over (keys are cheap to
// read again, and a rebuild reads each key about once anyway).
const maxCached = 100_000

// Keys opens sealed fields for readers (projectors, `oof tail`). Lookups
// are cached, but only while Listen holds a LISTEN on Channel: an erasure
// notifies at its commit and the subject's entries are dropped, and while
// the listener is down (or was never started) every lookup reads
// PostgreSQL, so an erased key is never served from the cache once the
// erasure has committed and the notification arrived. Projectors also call
// Forget when they apply UserErased, which covers a notification still in
// flight. A load that raced an invalidation is not cached (gen).
type Keys struct {
	pool *pgxpool.Pool
	log  *slog.Logger

	mu        sync.Mutex
	listening bool
	gen       uint64
	byID      map[string]keyEntry
	erased    map[string]bool // subject → has an erased key (tombstone)
}

type keyEntry struct {
	subject string
	dek     []byte // nil: erased
}

// NewKeys returns a reader on pool (the platform's database, never a
// rebuild's shadow: the keys are not part of any read model).
func NewKeys(pool *pgxpool.Pool, log *slog.Logger) *Keys {
	if log == nil {
		log = slog.Default()
	}
	return &Keys{pool: pool, log: log, byID: map[string]keyEntry{}, erased: map[string]bool{}}
}

// Open decrypts a sealed field. It returns ErrErased when the key was
// destroyed, or is unknown (a key always commits with its first event, so
// an unknown key means the event is foreign to this database: nothing to
// show), and ErrMalformed when the value is not a sealed value of this key
// and field.
func (k *Keys) Open(ctx context.Context, keyID, field string, sealed []byte) (string, error) {
	e, err := k.key(ctx, keyID)
	if err != nil {
		return "", err
	}
	if e.dek == nil {
		return "", ErrErased
	}
	return decrypt(e.dek, keyID, field, sealed)
}

func (k *Keys) key(ctx context.Context, keyID string) (keyEntry, error) {
	k.mu.Lock()
	if e, ok := k.byID[keyID]; ok && k.listening {
		k.mu.Unlock()
		return e, nil
	}
	gen := k.gen
	k.mu.Unlock()
	var e keyEntry
	err := k.pool.QueryRow(ctx, `SELECT subject_id, dek FROM personal_keys WHERE key_id::text = $1`, keyID).Scan(&e.subject, &e.dek)
	if errors.Is(err, pgx.ErrNoRows) {
		k.log.Warn("sealed field names an unknown personal-data key; shown as erased", "key_id", keyID)
		return keyEntry{}, nil
	}
	if err != nil {
		return keyEntry{}, fmt.Errorf("personal key %s: %w", keyID, err)
	}
	k.store(gen, func() { k.byID[keyID] = e })
	return e, nil
}

// SubjectErased reports whether subject's personal data was ever erased:
// then plaintext personal fields of its older events are shown as erased.
func (k *Keys) SubjectErased(ctx context.Context, subject string) (bool, error) {
	k.mu.Lock()
	if v, ok := k.erased[subject]; ok && k.listening {
		k.mu.Unlock()
		return v, nil
	}
	gen := k.gen
	k.mu.Unlock()
	var erased bool
	if err := k.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM personal_keys
		WHERE subject_id = $1 AND erased_at IS NOT NULL)`, subject).Scan(&erased); err != nil {
		return false, fmt.Errorf("personal keys of %s: %w", subject, err)
	}
	k.store(gen, func() { k.erased[subject] = erased })
	return erased, nil
}

// store caches a load unless an invalidation happened since it started.
func (k *Keys) store(gen uint64, put func()) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.listening || gen != k.gen {
		return
	}
	if len(k.byID)+len(k.erased) >= maxCached {
		k.byID, k.erased = map[string]keyEntry{}, map[string]bool{}
	}
	put()
}

// Forget drops everything cached about subject (its erasure was seen).
func (k *Keys) Forget(subject string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.gen++
	delete(k.erased, subject)
	for id, e := range k.byID {
		if e.subject == subject {
			delete(k.byID, id)
		}
	}
}

func (k *Keys) setListening(on bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.gen++
	k.listening = on
	k.byID, k.erased = map[string]keyEntry{}, map[string]bool{}
}

// Listen keeps a LISTEN on Channel until ctx ends, dropping the notified
// subjects from the cache; the cache is used only while it listens, and is
// emptied whenever the connection is lost (an erasure may have been missed).
func (k *Keys) Listen(ctx context.Context) {
	for {
		err := k.listenOnce(ctx)
		k.setListening(false)
		if ctx.Err() != nil {
			return
		}
		k.log.Warn("personal-key cache listener lost; reading keys uncached until it is back", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

func (k *Keys) listenOnce(ctx context.Context) error {
	// A connection of its own: a LISTEN must not go back into the pool.
	conn, err := pgx.ConnectConfig(ctx, k.pool.Config().ConnConfig.Copy())
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, `LISTEN `+Channel); err != nil {
		return err
	}
	k.setListening(true)
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		k.Forget(n.Payload)
	}
}

// Erase destroys subject's live keys in q's transaction (dek NULL,
// erased_at set: the row stays as a tombstone) and notifies every Keys
// cache at commit. A subject that never had a key gets a tombstone, so
// readers know its legacy plaintext fields are erased. destroyed are the
// keys erased now; changed is false when there was nothing left to erase.
func Erase(ctx context.Context, q Querier, subject, tombstoneID string) (destroyed []string, changed bool, err error) {
	var tomb bool
	err = q.QueryRow(ctx, `WITH e AS (
			UPDATE personal_keys SET dek = NULL, erased_at = now()
			WHERE subject_id = $1 AND erased_at IS NULL RETURNING key_id::text AS key_id),
		t AS (
			INSERT INTO personal_keys (key_id, subject_id, dek, erased_at)
			SELECT $2::uuid, $1, NULL, now()
			WHERE NOT EXISTS (SELECT 1 FROM personal_keys WHERE subject_id = $1)
			RETURNING key_id)
		SELECT coalesce((SELECT array_agg(key_id ORDER BY key_id) FROM e), '{}'), EXISTS (SELECT 1 FROM t),
			(SELECT pg_notify($3, $1)) IS NULL`, subject, tombstoneID, Channel).Scan(&destroyed, &tomb, new(bool))
	if err != nil {
		return nil, false, fmt.Errorf("erase personal keys of %s: %w", subject, err)
	}
	return destroyed, len(destroyed) > 0 || tomb, nil
}
