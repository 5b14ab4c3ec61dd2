package projection

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/IBM/sarama"
	"github.com/jackc/pgx/v5"

	"github.com/oof-gg/platform/pkg/eventlog"
)

// DeadLetterStatus says whether a dead letter still waits for a re-drive.
type DeadLetterStatus string

const (
	// StatusDead: the record has not taken effect in the read model.
	StatusDead DeadLetterStatus = "dead"
	// StatusRedriven: a re-drive applied the record; it is kept for the record.
	StatusRedriven DeadLetterStatus = "redriven"
)

// DeadLetter is a record a projector could not apply (table
// projector_dead_letters), with the raw record so it can be applied later.
type DeadLetter struct {
	ID        int64
	Projector string
	Topic     string
	Partition int32
	Offset    int64
	EventType string // ce_type, '' if the record had none
	EventID   string // ce_id, '' if the record had none
	Key       []byte
	Error     string // the last failure
	Attempts  int
	// FirstFailedAt and LastFailedAt span the attempts (re-drives included).
	FirstFailedAt time.Time
	LastFailedAt  time.Time
	Status        DeadLetterStatus
	RedrivenAt    *time.Time
	Payload       []byte // the record's value
	Headers       []*sarama.RecordHeader
}

// Message rebuilds the consumed record, as the projector first saw it.
func (d DeadLetter) Message() *sarama.ConsumerMessage {
	return &sarama.ConsumerMessage{Topic: d.Topic, Partition: d.Partition, Offset: d.Offset,
		Key: d.Key, Value: d.Payload, Headers: d.Headers}
}

// storedHeader is one Kafka record header in the headers column (values
// are bytes, so JSON carries them as base64).
type storedHeader struct {
	Key   string `json:"key"`
	Value []byte `json:"value"`
}

func encodeHeaders(hs []*sarama.RecordHeader) ([]byte, error) {
	out := make([]storedHeader, 0, len(hs))
	for _, h := range hs {
		if h != nil {
			out = append(out, storedHeader{Key: string(h.Key), Value: h.Value})
		}
	}
	return json.Marshal(out)
}

func decodeHeaders(raw []byte) ([]*sarama.RecordHeader, error) {
	var stored []storedHeader
	if err := json.Unmarshal(raw, &stored); err != nil {
		return nil, err
	}
	hs := make([]*sarama.RecordHeader, len(stored))
	for i, h := range stored {
		hs[i] = &sarama.RecordHeader{Key: []byte(h.Key), Value: h.Value}
	}
	return hs, nil
}

// insertDeadLetter records m as dead for projector. A record already dead
// for it is left as it is (opened = false: it was reported when it was
// opened); one that had been re-driven is opened again.
func insertDeadLetter(ctx context.Context, tx pgx.Tx, projector string, m *sarama.ConsumerMessage, f failure) (DeadLetter, bool, error) {
	env, _ := eventlog.FromRecord(m) // the headers it has, even without ce_type
	headers, err := encodeHeaders(m.Headers)
	if err != nil {
		return DeadLetter{}, false, fmt.Errorf("dead-letter %s/%d@%d: headers: %w", m.Topic, m.Partition, m.Offset, err)
	}
	d := DeadLetter{Projector: projector, Topic: m.Topic, Partition: m.Partition, Offset: m.Offset,
		EventType: env.Type, EventID: env.ID, Key: m.Key, Error: f.text(), Attempts: f.attempts,
		FirstFailedAt: f.first, LastFailedAt: f.last, Status: StatusDead, Payload: m.Value, Headers: m.Headers}
	err = tx.QueryRow(ctx, `INSERT INTO projector_dead_letters AS d
		(projector, topic, partition, "offset", event_type, event_id, record_key, payload, headers,
		 error, attempts, first_failed_at, last_failed_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
		ON CONFLICT (projector, topic, partition, "offset") DO UPDATE SET
		  event_type = EXCLUDED.event_type, event_id = EXCLUDED.event_id, record_key = EXCLUDED.record_key,
		  payload = EXCLUDED.payload, headers = EXCLUDED.headers, error = EXCLUDED.error,
		  attempts = d.attempts + EXCLUDED.attempts, last_failed_at = EXCLUDED.last_failed_at,
		  status = 'dead', redriven_at = NULL
		WHERE d.status <> 'dead'
		RETURNING id`,
		projector, m.Topic, m.Partition, m.Offset, d.EventType, d.EventID, m.Key, m.Value, headers,
		d.Error, d.Attempts, d.FirstFailedAt, d.LastFailedAt).Scan(&d.ID)
	if errors.Is(err, pgx.ErrNoRows) {
		return d, false, nil
	}
	if err != nil {
		return d, false, fmt.Errorf("dead-letter %s/%d@%d: %w", m.Topic, m.Partition, m.Offset, err)
	}
	return d, true, nil
}

// Querier is what reads dead letters: a pool, a connection or a transaction.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// ListOptions select dead letters.
type ListOptions struct {
	Projector string // '' for every projector
	Redriven  bool   // include re-driven ones, not only open ones
	Limit     int    // at most this many (0: all)
}

const deadLetterColumns = `id, projector, topic, partition, "offset", event_type, event_id, record_key,
	error, attempts, first_failed_at, last_failed_at, status, redriven_at, payload, headers`

// ListDeadLetters returns dead letters oldest first (by id, which is the
// order they died in).
func ListDeadLetters(ctx context.Context, db Querier, o ListOptions) ([]DeadLetter, error) {
	limit := int64(o.Limit)
	if limit <= 0 {
		limit = 1 << 62
	}
	rows, err := db.Query(ctx, `SELECT `+deadLetterColumns+` FROM projector_dead_letters
		WHERE ($1 = '' OR projector = $1) AND ($2 OR status = 'dead')
		ORDER BY id LIMIT $3`, o.Projector, o.Redriven, limit)
	if err != nil {
		return nil, fmt.Errorf("list dead letters: %w", err)
	}
	out, err := pgx.CollectRows(rows, scanDeadLetter)
	if err != nil {
		return nil, fmt.Errorf("list dead letters: %w", err)
	}
	return out, nil
}

func scanDeadLetter(row pgx.CollectableRow) (DeadLetter, error) {
	var d DeadLetter
	var headers []byte
	err := row.Scan(&d.ID, &d.Projector, &d.Topic, &d.Partition, &d.Offset, &d.EventType, &d.EventID, &d.Key,
		&d.Error, &d.Attempts, &d.FirstFailedAt, &d.LastFailedAt, &d.Status, &d.RedrivenAt, &d.Payload, &headers)
	if err != nil {
		return d, err
	}
	if d.Headers, err = decodeHeaders(headers); err != nil {
		return d, fmt.Errorf("dead letter %d: headers: %w", d.ID, err)
	}
	return d, nil
}
