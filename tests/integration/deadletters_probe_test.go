package integration

// Helpers of the dead-letter tests: a projector that fails on demand and
// the records it reads.

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/oof-gg/platform/pkg/eventlog"
	"github.com/oof-gg/platform/pkg/projection"
	"github.com/oof-gg/platform/tests/harness"
)

// probe is a test projector over records of google.protobuf.StringValue;
// the value's prefix says how Apply behaves, until the probe is "fixed":
//
//	bad…     returns a plain error (a projector bug)
//	null…    inserts NULL into a NOT NULL column (a real 23502)
//	panic…   panics
//	locked…  waits for a row lock with a 50ms lock_timeout (a real 55P03
//	         for as long as the test holds the lock; not a record problem)
type probe struct {
	topic        string
	fixed        atomic.Bool
	lockAttempts atomic.Int64
}

func (p *probe) Name() string     { return "probe" }
func (p *probe) Topics() []string { return []string{p.topic} }

func (p *probe) Reset(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, `TRUNCATE probe_applied`)
	return err
}

func (p *probe) Apply(ctx context.Context, tx pgx.Tx, env eventlog.Envelope, msg proto.Message) error {
	v := msg.(*wrapperspb.StringValue).GetValue()
	var value any = v
	broken := !p.fixed.Load()
	switch {
	case strings.HasPrefix(v, "bad") && broken:
		return fmt.Errorf("probe: %s is bad", v)
	case strings.HasPrefix(v, "panic") && broken:
		panic("probe: " + v)
	case strings.HasPrefix(v, "null") && broken:
		value = nil
	case strings.HasPrefix(v, "locked"):
		p.lockAttempts.Add(1)
		if _, err := tx.Exec(ctx, `SET LOCAL lock_timeout = '50ms'`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `SELECT 1 FROM probe_lock FOR UPDATE`); err != nil {
			return err
		}
	}
	_, err := tx.Exec(ctx, `INSERT INTO probe_applied (value, "offset") VALUES ($1, $2)`, value, env.Offset)
	return err
}

// holdProbeLock takes the row "locked…" records need and keeps it until
// the probe has tried such records `until` times in all (or the returned
// release is called, which also waits for the lock to be let go).
func holdProbeLock(t *testing.T, ctx context.Context, pool *pgxpool.Pool, p *probe, until int64) (release func()) {
	t.Helper()
	locked, released := make(chan error, 1), make(chan struct{})
	holdCtx, unlock := context.WithCancel(ctx)
	go func() {
		defer close(released)
		holder, err := pool.Begin(ctx)
		if err == nil {
			defer holder.Rollback(context.Background())
			_, err = holder.Exec(ctx, `SELECT 1 FROM probe_lock FOR UPDATE`)
		}
		locked <- err
		for p.lockAttempts.Load() < until && holdCtx.Err() == nil {
			time.Sleep(10 * time.Millisecond)
		}
	}()
	release = func() { unlock(); <-released }
	if err := <-locked; err != nil {
		release()
		t.Fatal(err)
	}
	return release
}

type probeRecord struct {
	value   string
	ceType  string
	key     string
	offset  int64
	headers []sarama.RecordHeader
}

// produceProbe writes r to the one-partition topic and fills in its offset.
func produceProbe(t *testing.T, producer sarama.SyncProducer, topic string, r *probeRecord) {
	t.Helper()
	payload := []byte("\x00not protobuf")
	if r.ceType == "" {
		r.ceType = "google.protobuf.StringValue"
		var err error
		if payload, err = proto.Marshal(wrapperspb.String(r.value)); err != nil {
			t.Fatal(err)
		}
	}
	r.key = "probe-" + r.value
	r.headers = []sarama.RecordHeader{
		{Key: []byte(eventlog.HeaderSpecVersion), Value: []byte("1.0")},
		{Key: []byte(eventlog.HeaderID), Value: []byte(uuid.NewString())},
		{Key: []byte(eventlog.HeaderType), Value: []byte(r.ceType)},
		{Key: []byte(eventlog.HeaderContentType), Value: []byte(eventlog.ContentTypeProtobuf)},
	}
	_, offset, err := producer.SendMessage(&sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder(r.key),
		Value: sarama.ByteEncoder(payload), Headers: r.headers})
	if err != nil {
		t.Fatal(err)
	}
	r.offset = offset
}

func newProbeTopic(t *testing.T) string {
	t.Helper()
	topic := env.Cfg.KafkaTopicPrefix + "probe." + harness.RandomID(4) // removed with the environment
	admin, err := sarama.NewClusterAdminFromClient(env.Kafka)          // not closed: that would close env.Kafka
	if err != nil {
		t.Fatal(err)
	}
	if err := eventlog.EnsureTopics(admin, 1, []eventlog.TopicSpec{{Name: topic, Partitions: 1}}); err != nil {
		t.Fatal(err)
	}
	return topic
}

func newProbeDB(t *testing.T, ctx context.Context) *pgxpool.Pool {
	t.Helper()
	pool := newProjectionDB(t, ctx, "probe"+harness.RandomID(2))
	if _, err := pool.Exec(ctx, `CREATE TABLE probe_applied (value text NOT NULL, "offset" bigint NOT NULL);
		CREATE TABLE probe_lock (id integer); INSERT INTO probe_lock VALUES (1)`); err != nil {
		t.Fatal(err)
	}
	return pool
}

func appliedCount(t *testing.T, ctx context.Context, pool *pgxpool.Pool, value string) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM probe_applied WHERE value = $1`, value).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func waitProbeOffset(t *testing.T, ctx context.Context, pool *pgxpool.Pool, topic string, next int64) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var got int64
		err := pool.QueryRow(ctx, `SELECT coalesce(max(next_offset), 0) FROM projector_offsets
			WHERE projector = 'probe' AND topic = $1`, topic).Scan(&got)
		if err != nil {
			t.Fatal(err)
		}
		if got >= next {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("probe projector at offset %d, want %d: the partition is stuck", got, next)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// metricValue reads one projector's series of a metric family from reg.
func metricValue(t *testing.T, reg *prometheus.Registry, name, projector string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "projector" && l.GetValue() == projector {
					if m.GetCounter() != nil {
						return m.GetCounter().GetValue()
					}
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	t.Fatalf("no %s{projector=%q}", name, projector)
	return 0
}

func countProbe(t *testing.T, ctx context.Context, pool *pgxpool.Pool, where string, args ...any) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM probe_applied `+where, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func recordAt(t *testing.T, records []*probeRecord, offset int64) *probeRecord {
	t.Helper()
	for _, r := range records {
		if r.offset == offset {
			return r
		}
	}
	t.Fatalf("no record at offset %d", offset)
	return nil
}

func deadByID(list []projection.DeadLetter, id int64) projection.DeadLetter {
	for _, d := range list {
		if d.ID == id {
			return d
		}
	}
	return projection.DeadLetter{}
}

// checkDeadLetter compares a fresh dead letter with the record it keeps.
func checkDeadLetter(t *testing.T, d projection.DeadLetter, r *probeRecord, projector, topic string, attempts int, errText string) {
	t.Helper()
	wantPayload := []byte("\x00not protobuf")
	if r.ceType == "google.protobuf.StringValue" {
		wantPayload, _ = proto.Marshal(wrapperspb.String(r.value))
	}
	checks := []struct {
		what      string
		got, want any
	}{
		{"projector", d.Projector, projector},
		{"topic", d.Topic, topic},
		{"partition", d.Partition, int32(0)},
		{"event type", d.EventType, r.ceType},
		{"event id", d.EventID, string(r.headers[1].Value)},
		{"key", string(d.Key), r.key},
		{"attempts", d.Attempts, attempts},
		{"status", d.Status, projection.StatusDead},
		{"payload", string(d.Payload), string(wantPayload)},
		{"headers", headerText(d.Headers), headerText(ptrs(r.headers))},
		{"error mentions the cause", strings.Contains(d.Error, errText), true},
		{"failure times ordered", !d.FirstFailedAt.IsZero() && !d.LastFailedAt.Before(d.FirstFailedAt), true},
		{"not redriven", d.RedrivenAt == nil, true},
	}
	for _, c := range checks {
		if fmt.Sprint(c.got) != fmt.Sprint(c.want) {
			t.Errorf("dead letter of %s: %s = %v, want %v (error: %s)", r.value, c.what, c.got, c.want, firstLineOf(d.Error))
		}
	}
}

func ptrs(hs []sarama.RecordHeader) []*sarama.RecordHeader {
	out := make([]*sarama.RecordHeader, len(hs))
	for i := range hs {
		out[i] = &hs[i]
	}
	return out
}

func headerText(hs []*sarama.RecordHeader) string {
	var b strings.Builder
	for _, h := range hs {
		fmt.Fprintf(&b, "%s=%q;", h.Key, h.Value)
	}
	return b.String()
}

func firstLineOf(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
