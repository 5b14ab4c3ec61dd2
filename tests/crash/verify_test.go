package crash

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/oof-gg/platform/pkg/eventlog"
	"github.com/oof-gg/platform/tests/harness"
)

// aggregateTopics are the topics of the aggregates in command_aggregates.
var aggregateTopics = []string{"oof.game.v1", "oof.session.v1", "oof.entity.v1", "oof.player.v1"}

// readModelVersions is every aggregate and version the read models hold, in
// the form writeModelVersions returns.
const readModelVersions = `
	SELECT 'game/' || id || ' ' || version FROM games
	UNION ALL SELECT 'session/' || id || ' ' || version FROM sessions
	UNION ALL SELECT 'entity/' || id || ' ' || version FROM entities
	UNION ALL SELECT 'player/' || id || ' ' || version FROM players
	ORDER BY 1`

const writeModelVersions = `SELECT kind || '/' || id || ' ' || version FROM command_aggregates ORDER BY 1`

// logEvent is one record of an aggregate topic.
type logEvent struct {
	topic     string
	partition int32
	offset    int64
	key       string
	id        string // ce_id
	subject   string // ce_subject: "<kind>/<aggregate id>"
	typ       string
	version   int64
	payload   []byte
}

func (e logEvent) String() string {
	return fmt.Sprintf("%s v%d (%s, ce_id %s at %s/%d@%d)", e.subject, e.version, e.typ, e.id, e.topic, e.partition, e.offset)
}

// verifyRecovered waits until the outbox is drained and the projectors have
// caught up, then checks the log against the write model and the
// acknowledgements, and the read models against the write model and a fresh
// replay. replay=false skips the replay (it costs a second set of projectors).
// It returns how many records the log holds more than once.
func verifyRecovered(t *testing.T, ctx context.Context, e *harness.Env, acks []ack, replay bool) (resent int) {
	t.Helper()
	start := time.Now()
	waitOutboxDrained(t, ctx, e.Pool, 60*time.Second)
	drained := time.Since(start)
	writeModel := versionsByAggregate(t, ctx, e.Pool)
	events := readAggregateLog(t, ctx, e)
	resent = checkLogAgainstWriteModel(t, events, writeModel)
	checkAcknowledged(t, acks, writeModel)
	checkUsersOnLog(t, ctx, e)
	waitReadModelsEqualWriteModel(t, ctx, e.Pool, 60*time.Second)
	t.Logf("recovered: outbox drained in %s, read models equal the write model after %s (%d aggregates, %d records)",
		drained.Round(time.Millisecond), time.Since(start).Round(time.Millisecond), len(writeModel), len(events))
	if !replay {
		return resent
	}
	tables, err := e.ReplayReadModels(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range tables {
		switch {
		case !c.Equal():
			t.Errorf("%s: live read model (%d rows) differs from a fresh replay (%d rows)", c.Table, len(c.Live), len(c.Replay))
		case len(c.Live) == 0 && slices.Contains([]string{"games", "sessions", "entities"}, c.Table):
			t.Errorf("%s: live read model is empty; the comparison proves nothing", c.Table)
		}
	}
	return resent
}

func waitOutboxDrained(t *testing.T, ctx context.Context, pool *pgxpool.Pool, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		pending := unpublished(t, ctx, pool)
		if pending == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("outbox not drained within %s: %d rows unpublished", timeout, pending)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// unpublished counts the committed events not yet on Kafka.
func unpublished(t *testing.T, ctx context.Context, pool *pgxpool.Pool) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM event_outbox WHERE published_at IS NULL`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// versionsByAggregate reads the write model: "<kind>/<id>" -> version.
func versionsByAggregate(t *testing.T, ctx context.Context, pool *pgxpool.Pool) map[string]int64 {
	t.Helper()
	rows, err := pool.Query(ctx, `SELECT kind || '/' || id, version FROM command_aggregates`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var subject string
		var v int64
		if err := rows.Scan(&subject, &v); err != nil {
			t.Fatal(err)
		}
		out[subject] = v
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// readAggregateLog reads every aggregate topic from offset 0.
func readAggregateLog(t *testing.T, ctx context.Context, e *harness.Env) []logEvent {
	t.Helper()
	var out []logEvent
	for _, name := range aggregateTopics {
		records, err := harness.ReadTopic(ctx, e.Kafka, e.Topic(name))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range records {
			env, err := eventlog.FromRecord(m)
			if err != nil {
				t.Fatal(err)
			}
			msg, err := env.Decode()
			if err != nil {
				t.Fatal(err)
			}
			field := msg.ProtoReflect().Descriptor().Fields().ByName("version")
			if field == nil || field.Kind() != protoreflect.Int64Kind {
				t.Fatalf("%s on %s has no version field", env.Type, m.Topic)
			}
			out = append(out, logEvent{topic: m.Topic, partition: m.Partition, offset: m.Offset, key: env.Key,
				id: env.ID, subject: env.Subject, typ: env.Type, payload: m.Value,
				version: msg.ProtoReflect().Get(field).Int()})
		}
	}
	return out
}

// checkLogAgainstWriteModel: a record sent more than once carries the same
// ce_id and the same content; per aggregate, the distinct events are
// versions 1..n in log order, n being the write model's version; and no
// aggregate is on only one side. It returns how many records repeat an
// earlier one.
func checkLogAgainstWriteModel(t *testing.T, events []logEvent, writeModel map[string]int64) int {
	t.Helper()
	firstByID := map[string]logEvent{}
	var distinct []logEvent
	resent := 0
	for _, ev := range events {
		prev, seen := firstByID[ev.id]
		if !seen {
			firstByID[ev.id] = ev
			distinct = append(distinct, ev)
			continue
		}
		resent++
		if prev.topic != ev.topic || prev.key != ev.key || prev.subject != ev.subject || prev.typ != ev.typ || !bytes.Equal(prev.payload, ev.payload) {
			t.Errorf("ce_id %s is on the log twice with different content: %s and %s", ev.id, prev, ev)
		}
	}
	bySubject := map[string][]logEvent{}
	for _, ev := range distinct {
		bySubject[ev.subject] = append(bySubject[ev.subject], ev)
	}
	for _, subject := range slices.Sorted(maps.Keys(bySubject)) {
		evs := bySubject[subject]
		slices.SortFunc(evs, func(a, b logEvent) int {
			return cmp.Or(cmp.Compare(a.partition, b.partition), cmp.Compare(a.offset, b.offset))
		})
		kind, _, _ := strings.Cut(subject, "/")
		for i, ev := range evs {
			if !strings.HasSuffix(ev.topic, "oof."+kind+".v1") {
				t.Errorf("%s: event on topic %s", subject, ev.topic)
			}
			if ev.partition != evs[0].partition {
				t.Errorf("%s: events on partitions %d and %d", subject, evs[0].partition, ev.partition)
			}
			if ev.version != int64(i+1) {
				t.Errorf("%s: log holds %v; want versions 1..%d in order, each once", subject, evs, len(evs))
				break
			}
		}
		want, ok := writeModel[subject]
		switch {
		case !ok:
			t.Errorf("%s is on the log (%v) but not in the write model: half-visible", subject, evs)
		case want != int64(len(evs)):
			t.Errorf("%s: write model at version %d, log has %d events: %v", subject, want, len(evs), evs)
		}
	}
	for subject, v := range writeModel {
		if _, ok := bySubject[subject]; !ok {
			t.Errorf("%s (version %d) is in the write model but has no event on the log", subject, v)
		}
	}
	t.Logf("log: %d records, %d distinct events of %d aggregates, %d resent with the same ce_id", len(events), len(distinct), len(bySubject), resent)
	return resent
}

// checkAcknowledged: every acknowledged command's version is in the write
// model (and so, by checkLogAgainstWriteModel, on the log exactly once).
func checkAcknowledged(t *testing.T, acks []ack, writeModel map[string]int64) {
	t.Helper()
	for _, a := range acks {
		if v, ok := writeModel[a.subject]; !ok || v < a.version {
			t.Errorf("acknowledged %s version %d lost: write model has version %d", a.subject, a.version, v)
		}
	}
}

// checkUsersOnLog: every account of the auth write model has its one
// registration on the user topic, and the topic registers no other user.
func checkUsersOnLog(t *testing.T, ctx context.Context, e *harness.Env) {
	t.Helper()
	accounts, err := harness.DumpRows(ctx, e.Pool, `SELECT user_id::text FROM auth_accounts ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	records, err := harness.ReadTopic(ctx, e.Kafka, e.Topic("oof.user.v1"))
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{} // ce_id -> user id
	for _, m := range records {
		env, err := eventlog.FromRecord(m)
		if err != nil {
			t.Fatal(err)
		}
		if env.Type == "oof.events.v1.UserRegistered" {
			ids[env.ID] = env.Key
		}
	}
	registered := slices.Sorted(maps.Values(ids))
	if !slices.Equal(registered, accounts) {
		t.Errorf("registrations on the log %v, accounts in the write model %v", registered, accounts)
	}
}

// waitReadModelsEqualWriteModel waits until every read model holds exactly
// the write model's aggregates, each at its write-model version.
func waitReadModelsEqualWriteModel(t *testing.T, ctx context.Context, pool *pgxpool.Pool, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		want, err := harness.DumpRows(ctx, pool, writeModelVersions)
		if err != nil {
			t.Fatal(err)
		}
		got, err := harness.DumpRows(ctx, pool, readModelVersions)
		if err != nil {
			t.Fatal(err)
		}
		if slices.Equal(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("read models never equalled the write model within %s: %s", timeout, diffSummary(want, got))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// diffSummary names a few rows only in want or only in got.
func diffSummary(want, got []string) string {
	inGot := map[string]bool{}
	for _, g := range got {
		inGot[g] = true
	}
	inWant := map[string]bool{}
	var missing, extra []string
	for _, w := range want {
		inWant[w] = true
		if !inGot[w] {
			missing = append(missing, w)
		}
	}
	for _, g := range got {
		if !inWant[g] {
			extra = append(extra, g)
		}
	}
	return fmt.Sprintf("%d write-model rows, %d read-model rows; missing from read models %s; only in read models %s",
		len(want), len(got), head(missing), head(extra))
}

func head(v []string) string {
	if len(v) > 5 {
		return "[" + strings.Join(v[:5], ", ") + fmt.Sprintf(", … %d more]", len(v)-5)
	}
	return "[" + strings.Join(v, ", ") + "]"
}
