package integration

import (
	"bytes"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	eventspb "github.com/oof-gg/platform/api/gen/oof/events/v1"
	authpb "github.com/oof-gg/platform/api/gen/v1/api/auth"
)

// readTopic returns every record of topic up to its current end.
func readTopic(t *testing.T, topic string) []*sarama.ConsumerMessage {
	t.Helper()
	if err := env.Kafka.RefreshMetadata(topic); err != nil {
		t.Fatal(err)
	}
	consumer, err := sarama.NewConsumerFromClient(env.Kafka)
	if err != nil {
		t.Fatal(err)
	}
	defer consumer.Close()
	partitions, err := env.Kafka.Partitions(topic)
	if err != nil {
		t.Fatal(err)
	}
	var out []*sarama.ConsumerMessage
	for _, p := range partitions {
		end, err := env.Kafka.GetOffset(topic, p, sarama.OffsetNewest)
		if err != nil {
			t.Fatal(err)
		}
		start, _ := env.Kafka.GetOffset(topic, p, sarama.OffsetOldest)
		if end <= start {
			continue
		}
		pc, err := consumer.ConsumePartition(topic, p, sarama.OffsetOldest)
		if err != nil {
			t.Fatal(err)
		}
		for m := range pc.Messages() {
			out = append(out, m)
			if m.Offset >= end-1 {
				break
			}
		}
		pc.Close()
	}
	return out
}

func header(m *sarama.ConsumerMessage, key string) string {
	for _, h := range m.Headers {
		if string(h.Key) == key {
			return string(h.Value)
		}
	}
	return ""
}

// The registration is on oof.user.v1 as a CloudEvent keyed by user id, with
// the caller's trace context, and no password material anywhere on the topic.
func TestUserEventsOnTopic(t *testing.T) {
	ctx := testCtx(t)
	traceparent := "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	name := uniqueName("ev")
	password := "secret-" + name
	resp, err := authClient().Register(metadata.AppendToOutgoingContext(asNewClient(ctx), "traceparent", traceparent),
		&authpb.RegisterRequest{Username: name, Email: name + "@example.com", Password: password})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := authClient().Login(asNewClient(ctx), &authpb.LoginRequest{Username: name, Password: password}); err != nil {
		t.Fatal(err)
	}

	// Login records its event through the outbox without waiting for it
	// (it changes no read model a client reads back): it is on the topic
	// shortly after.
	var registered, loggedIn *sarama.ConsumerMessage
	deadline := time.Now().Add(10 * time.Second)
	for loggedIn == nil && time.Now().Before(deadline) {
		if registered != nil {
			time.Sleep(50 * time.Millisecond)
		}
		registered, loggedIn = findUserEvents(t, resp.GetUserId(), password)
	}
	if registered == nil || loggedIn == nil {
		t.Fatalf("missing events for user %s (registered=%v, logged in=%v)", resp.GetUserId(), registered != nil, loggedIn != nil)
	}
	want := map[string]string{
		"ce_specversion": "1.0",
		"ce_source":      "/oof/command/auth",
		"ce_subject":     "user/" + resp.GetUserId(),
		"content-type":   "application/protobuf",
		"traceparent":    traceparent,
	}
	for k, v := range want {
		if got := header(registered, k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	if header(registered, "ce_id") == "" || header(registered, "ce_id") == header(loggedIn, "ce_id") {
		t.Error("ce_id must be set and unique per event")
	}
	if _, err := time.Parse(time.RFC3339Nano, header(registered, "ce_time")); err != nil {
		t.Errorf("ce_time %q: %v", header(registered, "ce_time"), err)
	}
	if header(loggedIn, "traceparent") != "" {
		t.Error("a call without traceparent must not produce one")
	}
	var ev eventspb.UserRegistered
	if err := proto.Unmarshal(registered.Value, &ev); err != nil {
		t.Fatal(err)
	}
	// The e-mail is personal data: sealed, never in plaintext (erasure_test.go).
	if ev.GetUserId() != resp.GetUserId() || ev.GetUsername() != name || ev.GetEmail() != "" || len(ev.GetEmailSealed()) == 0 ||
		bytes.Contains(registered.Value, []byte("@example.com")) ||
		ev.GetMethod() != eventspb.AuthMethod_AUTH_METHOD_PASSWORD || ev.GetRegisteredAt() == nil {
		t.Fatalf("event payload: %+v", &ev)
	}
	if registered.Partition != loggedIn.Partition || registered.Offset >= loggedIn.Offset {
		t.Fatal("events of one user must share a partition, in order")
	}
}

// findUserEvents reads oof.user.v1 for userID's registration and login,
// failing on any password material on the topic.
func findUserEvents(t *testing.T, userID, password string) (registered, loggedIn *sarama.ConsumerMessage) {
	t.Helper()
	for _, m := range readTopic(t, env.Topic("oof.user.v1")) {
		if bytes.Contains(m.Value, []byte(password)) || bytes.Contains(m.Value, []byte("$argon2id$")) {
			t.Fatalf("password material on the topic at offset %d", m.Offset)
		}
		if string(m.Key) != userID {
			continue
		}
		switch header(m, "ce_type") {
		case "oof.events.v1.UserRegistered":
			registered = m
		case "oof.events.v1.UserLoggedIn":
			loggedIn = m
		}
	}
	return registered, loggedIn
}
