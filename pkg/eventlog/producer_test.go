package eventlog

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"

	"github.com/oof-gg/platform/pkg/apperr"
)

// fakeSync is a SyncProducer that records batches and assigns offsets.
type fakeSync struct {
	sarama.SyncProducer
	err   error
	block chan struct{}
	sent  [][]*sarama.ProducerMessage
}

func (f *fakeSync) SendMessages(msgs []*sarama.ProducerMessage) error {
	if f.block != nil {
		<-f.block
	}
	if f.err != nil {
		return f.err
	}
	for i, m := range msgs {
		m.Partition, m.Offset = 2, int64(100+i)
	}
	f.sent = append(f.sent, msgs)
	return nil
}

func (f *fakeSync) Close() error { return nil }

var producedAt = time.Date(2030, 1, 2, 4, 4, 5, 120000000, time.FixedZone("CET", 3600))

func userEvent() Event {
	return Event{Topic: "staging.oof.user.v1", Key: userID, Subject: "user/" + userID, Source: "/oof/command/auth", Message: userRegistered()}
}

func headerMap(t *testing.T, m *sarama.ProducerMessage) (map[string]string, []string) {
	t.Helper()
	out, order := map[string]string{}, []string{}
	for _, h := range m.Headers {
		if _, dup := out[string(h.Key)]; dup {
			t.Fatalf("duplicate header %s", h.Key)
		}
		out[string(h.Key)] = string(h.Value)
		order = append(order, string(h.Key))
	}
	return out, order
}

func TestProducerRecordHeaders(t *testing.T) {
	p := NewProducer(&fakeSync{}, time.Second, func() time.Time { return producedAt })
	cases := []struct {
		name   string
		ctx    context.Context
		ev     func() Event
		want   map[string]string
		absent []string
	}{
		{"full", WithTraceParent(context.Background(), tp), userEvent, map[string]string{
			"ce_specversion": "1.0", "ce_source": "/oof/command/auth", "ce_type": "oof.events.v1.UserRegistered",
			"ce_time": "2030-01-02T03:04:05.12Z", "ce_subject": "user/" + userID,
			"content-type": "application/protobuf", "traceparent": tp,
		}, nil},
		{"no subject, no trace", context.Background(), func() Event { e := userEvent(); e.Subject = ""; return e },
			map[string]string{"ce_type": "oof.events.v1.UserRegistered"}, []string{"ce_subject", "traceparent"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := p.record(tc.ctx, tc.ev())
			if err != nil {
				t.Fatal(err)
			}
			h, order := headerMap(t, m)
			for k, v := range tc.want {
				if h[k] != v {
					t.Errorf("header %s = %q, want %q", k, h[k], v)
				}
			}
			for _, k := range tc.absent {
				if _, ok := h[k]; ok {
					t.Errorf("header %s present: %q", k, h[k])
				}
			}
			if order[0] != "ce_specversion" || order[1] != "ce_id" {
				t.Errorf("header order %v", order)
			}
			id, err := uuid.Parse(h["ce_id"])
			if err != nil || id.Version() != 7 {
				t.Errorf("ce_id %q is not a UUIDv7 (%v)", h["ce_id"], err)
			}
			if m.Topic != "staging.oof.user.v1" {
				t.Errorf("topic %q", m.Topic)
			}
			if k, _ := m.Key.Encode(); string(k) != userID {
				t.Errorf("key %q, want the aggregate id", k)
			}
			v, _ := m.Value.Encode()
			want, _ := proto.Marshal(userRegistered())
			if string(v) != string(want) {
				t.Errorf("value is not the binary protobuf of the message")
			}
		})
	}
	a, _ := p.record(context.Background(), userEvent())
	b, _ := p.record(context.Background(), userEvent())
	ha, _ := headerMap(t, a)
	hb, _ := headerMap(t, b)
	if ha["ce_id"] == hb["ce_id"] {
		t.Fatal("two events share a ce_id")
	}
}

func TestProducerRejectsIncompleteEvents(t *testing.T) {
	cases := map[string]func(*Event){
		"no topic":   func(e *Event) { e.Topic = "" },
		"no key":     func(e *Event) { e.Key = "" },
		"no message": func(e *Event) { e.Message = nil },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			sp := &fakeSync{}
			ev := userEvent()
			mutate(&ev)
			_, err := NewProducer(sp, time.Second, time.Now).Publish(context.Background(), userEvent(), ev)
			if !apperr.Is(err, apperr.KindInternal) {
				t.Fatalf("err = %v, want internal", err)
			}
			if len(sp.sent) != 0 {
				t.Fatal("a batch with a bad event was partly sent")
			}
		})
	}
}

func TestPublish(t *testing.T) {
	sp := &fakeSync{}
	pos, err := NewProducer(sp, time.Second, time.Now).Publish(context.Background(), userEvent(), userEvent())
	if err != nil {
		t.Fatal(err)
	}
	want := []Position{{"staging.oof.user.v1", 2, 100}, {"staging.oof.user.v1", 2, 101}}
	if len(pos) != 2 || pos[0] != want[0] || pos[1] != want[1] {
		t.Fatalf("positions %v, want %v", pos, want)
	}
	if len(sp.sent) != 1 || len(sp.sent[0]) != 2 {
		t.Fatalf("want one batch of two, got %d batches", len(sp.sent))
	}
}

func TestPublishFailuresAreUnavailable(t *testing.T) {
	brokerDown := sarama.ProducerErrors{{Err: sarama.ErrOutOfBrokers}}
	cases := []struct {
		name    string
		sp      *fakeSync
		ctx     func() context.Context
		timeout time.Duration
		cause   error
	}{
		{"producer error", &fakeSync{err: brokerDown}, context.Background, time.Second, sarama.ErrOutOfBrokers},
		{"timeout", &fakeSync{block: make(chan struct{})}, context.Background, 50 * time.Millisecond, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.sp.block != nil {
				defer close(tc.sp.block)
			}
			_, err := NewProducer(tc.sp, tc.timeout, time.Now).Publish(tc.ctx(), userEvent())
			if !apperr.Is(err, apperr.KindUnavailable) {
				t.Fatalf("err = %v, want unavailable", err)
			}
			if tc.cause != nil && !errors.Is(err, tc.cause) {
				t.Fatalf("err = %v does not wrap %v", err, tc.cause)
			}
		})
	}
}

// A caller that goes away does not make Publish give up on a send that may
// still land: the caller would roll back a change whose event is in the log.
func TestPublishOutlivesCanceledCaller(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	sp := &fakeSync{block: make(chan struct{})}
	go func() { time.Sleep(50 * time.Millisecond); close(sp.block) }()
	pos, err := NewProducer(sp, time.Minute, time.Now).Publish(ctx, userEvent())
	if err != nil || len(pos) != 1 || pos[0].Offset != 100 {
		t.Fatalf("Publish with a canceled caller = %v, %v; want the delivered position", pos, err)
	}
}

// Producer headers are what FromRecord reads back.
func TestProduceConsumeRoundTrip(t *testing.T) {
	p := NewProducer(&fakeSync{}, time.Second, func() time.Time { return producedAt })
	pm, err := p.record(WithTraceParent(context.Background(), tp), userEvent())
	if err != nil {
		t.Fatal(err)
	}
	cm := &sarama.ConsumerMessage{Topic: pm.Topic, Partition: 1, Offset: 7}
	cm.Key, _ = pm.Key.Encode()
	cm.Value, _ = pm.Value.Encode()
	for i := range pm.Headers {
		cm.Headers = append(cm.Headers, &pm.Headers[i])
	}
	env, err := FromRecord(cm)
	if err != nil {
		t.Fatal(err)
	}
	if env.Key != userID || env.Subject != "user/"+userID || env.TraceParent != tp || !env.Time.Equal(producedAt) {
		t.Fatalf("envelope %+v", env)
	}
	msg, err := env.Decode()
	if err != nil || !proto.Equal(msg, userRegistered()) {
		t.Fatalf("Decode = %v, %v", msg, err)
	}
}

// fakeAdmin records CreateTopic calls and keeps existing topics'
// retention.ms.
type fakeAdmin struct {
	sarama.ClusterAdmin
	existing  map[string]sarama.TopicDetail
	createErr error
	created   map[string]*sarama.TopicDetail
	retention map[string]string // existing topics' retention.ms
	altered   map[string]string
}

func (f *fakeAdmin) DescribeConfig(r sarama.ConfigResource) ([]sarama.ConfigEntry, error) {
	return []sarama.ConfigEntry{{Name: "retention.ms", Value: f.retention[r.Name]}}, nil
}

func (f *fakeAdmin) IncrementalAlterConfig(_ sarama.ConfigResourceType, name string, e map[string]sarama.IncrementalAlterConfigsEntry, _ bool) error {
	if f.altered == nil {
		f.altered = map[string]string{}
	}
	f.altered[name] = *e["retention.ms"].Value
	return nil
}

func (f *fakeAdmin) ListTopics() (map[string]sarama.TopicDetail, error) { return f.existing, nil }

func (f *fakeAdmin) CreateTopic(name string, d *sarama.TopicDetail, _ bool) error {
	if f.created == nil {
		f.created = map[string]*sarama.TopicDetail{}
	}
	f.created[name] = d
	return f.createErr
}

func TestEnsureTopics(t *testing.T) {
	admin := &fakeAdmin{existing: map[string]sarama.TopicDetail{"old.v1": {}, "live.v1": {}, "kept.v1": {}},
		retention: map[string]string{"old.v1": "-1", "live.v1": "604800000", "kept.v1": "60000"}}
	specs := []TopicSpec{{Name: "old.v1", Partitions: 1}, {Name: "oof.user.v1", Partitions: 6}, {Name: "state.v1", Partitions: 3, Compact: true},
		{Name: "live.v1", Partitions: 1, Retention: 2 * time.Hour}, {Name: "kept.v1", Partitions: 1}, {Name: "new-live.v1", Partitions: 2, Retention: time.Minute}}
	if err := EnsureTopics(admin, 3, specs); err != nil {
		t.Fatal(err)
	}
	if _, ok := admin.created["old.v1"]; ok || len(admin.created) != 3 {
		t.Fatalf("created %v; existing topics must not be created again", admin.created)
	}
	// Only a differing retention.ms of an existing topic is set.
	if want := map[string]string{"live.v1": "7200000", "kept.v1": "-1"}; !reflect.DeepEqual(admin.altered, want) {
		t.Fatalf("altered retention.ms %v, want %v", admin.altered, want)
	}
	if r := *admin.created["new-live.v1"].ConfigEntries["retention.ms"]; r != "60000" {
		t.Fatalf("new-live.v1 created with retention.ms %s, want 60000", r)
	}
	for name, policy := range map[string]string{"oof.user.v1": "delete", "state.v1": "compact"} {
		d := admin.created[name]
		if d == nil {
			t.Fatalf("%s not created", name)
		}
		if d.ReplicationFactor != 3 || *d.ConfigEntries["cleanup.policy"] != policy || *d.ConfigEntries["retention.ms"] != "-1" {
			t.Fatalf("%s: replication %d, cleanup %s, retention %s", name, d.ReplicationFactor,
				*d.ConfigEntries["cleanup.policy"], *d.ConfigEntries["retention.ms"])
		}
	}
	if admin.created["oof.user.v1"].NumPartitions != 6 {
		t.Fatalf("partitions %d", admin.created["oof.user.v1"].NumPartitions)
	}
	for _, exists := range []error{sarama.ErrTopicAlreadyExists, &sarama.TopicError{Err: sarama.ErrTopicAlreadyExists}} {
		if err := EnsureTopics(&fakeAdmin{createErr: exists}, 1, specs[1:2]); err != nil {
			t.Fatalf("a create race (%v) must not fail: %v", exists, err)
		}
	}
	if err := EnsureTopics(&fakeAdmin{createErr: sarama.ErrClusterAuthorizationFailed}, 1, specs[1:2]); err == nil {
		t.Fatal("a real create error was swallowed")
	}
}

func TestNewSaramaConfig(t *testing.T) {
	if _, err := NewSaramaConfig(Options{Version: "not-a-version"}); err == nil {
		t.Fatal("bad version accepted")
	}
	c, err := NewSaramaConfig(Options{Version: "3.9.0", ClientID: "oof-test"})
	if err != nil {
		t.Fatal(err)
	}
	if !c.Producer.Idempotent || c.Producer.RequiredAcks != sarama.WaitForAll || c.Net.MaxOpenRequests != 1 {
		t.Fatal("producer is not idempotent with acks=all")
	}
	// sarama must finish every send (3 attempts) before Publish's timer.
	if c.Producer.Timeout != 2500*time.Millisecond || c.Net.ReadTimeout != 2500*time.Millisecond ||
		c.Producer.Retry.Max != 2 || c.Consumer.Offsets.Initial != sarama.OffsetOldest || c.ClientID != "oof-test" {
		t.Fatalf("timeout %v, initial offset %d, client %q", c.Producer.Timeout, c.Consumer.Offsets.Initial, c.ClientID)
	}
}

// Close waits for a send in flight instead of closing the producer under it
// (sarama panics on a send into a closed producer), and a Publish after
// Close fails UNAVAILABLE without touching the producer.
func TestCloseWaitsForSendsInFlight(t *testing.T) {
	sp := &closeCheck{fakeSync: fakeSync{block: make(chan struct{})}}
	p := NewProducer(sp, time.Minute, time.Now)
	published := make(chan error, 1)
	go func() { _, err := p.Publish(context.Background(), userEvent()); published <- err }()
	time.Sleep(20 * time.Millisecond) // the send is in flight
	closed := make(chan error, 1)
	go func() { closed <- p.Close() }()
	select {
	case <-closed:
		t.Fatal("Close returned while a send was in flight")
	case <-time.After(50 * time.Millisecond):
	}
	close(sp.block)
	if err := <-published; err != nil {
		t.Fatalf("the send in flight failed: %v", err)
	}
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if _, err := p.Publish(context.Background(), userEvent()); !apperr.Is(err, apperr.KindUnavailable) {
		t.Fatalf("Publish after Close = %v, want UNAVAILABLE", err)
	}
	if sp.late {
		t.Fatal("a send reached the producer after Close")
	}
}

type closeCheck struct {
	fakeSync
	closed, late bool
}

func (c *closeCheck) SendMessages(msgs []*sarama.ProducerMessage) error {
	if c.closed {
		c.late = true
	}
	return c.fakeSync.SendMessages(msgs)
}

func (c *closeCheck) Close() error { c.closed = true; return nil }
