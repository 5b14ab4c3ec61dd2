package eventlog

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventspb "github.com/oof-gg/platform/api/gen/oof/events/v1"
)

const (
	userID = "0190b3c4-5e6f-7a8b-9c0d-1e2f3a4b5c6d"
	tp     = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
)

var registeredAt = time.Date(2030, 1, 2, 3, 4, 5, 123456789, time.UTC)

func userRegistered() *eventspb.UserRegistered {
	return &eventspb.UserRegistered{
		UserId: userID, Username: "ann", Email: "ann@example.com", Role: "player",
		Method: eventspb.AuthMethod_AUTH_METHOD_PASSWORD, RegisteredAt: timestamppb.New(registeredAt),
	}
}

func hdr(k, v string) *sarama.RecordHeader {
	return &sarama.RecordHeader{Key: []byte(k), Value: []byte(v)}
}

func consumerMessage(t *testing.T, msg proto.Message, headers ...*sarama.RecordHeader) *sarama.ConsumerMessage {
	t.Helper()
	payload, err := proto.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	return &sarama.ConsumerMessage{
		Topic: "oof.user.v1", Partition: 3, Offset: 42,
		Key: []byte(userID), Value: payload, Headers: headers,
	}
}

func fullHeaders() []*sarama.RecordHeader {
	return []*sarama.RecordHeader{
		hdr("ce_specversion", "1.0"),
		hdr("ce_id", "0190b3c4-0000-7000-8000-000000000001"),
		hdr("ce_source", "/oof/command/auth"),
		hdr("ce_type", "oof.events.v1.UserRegistered"),
		hdr("ce_time", "2030-01-02T03:04:05.123456789Z"),
		hdr("ce_subject", "user/"+userID),
		hdr("content-type", "application/protobuf"),
		hdr("traceparent", tp),
	}
}

func TestFromRecordDecodeRoundTrip(t *testing.T) {
	want := userRegistered()
	env, err := FromRecord(consumerMessage(t, want, fullHeaders()...))
	if err != nil {
		t.Fatalf("FromRecord: %v", err)
	}
	checks := []struct{ name, got, want string }{
		{"id", env.ID, "0190b3c4-0000-7000-8000-000000000001"},
		{"type", env.Type, "oof.events.v1.UserRegistered"},
		{"source", env.Source, "/oof/command/auth"},
		{"subject", env.Subject, "user/" + userID},
		{"traceparent", env.TraceParent, tp},
		{"topic", env.Topic, "oof.user.v1"},
		{"key", env.Key, userID},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if !env.Time.Equal(registeredAt) {
		t.Errorf("time = %v, want %v", env.Time, registeredAt)
	}
	if env.Partition != 3 || env.Offset != 42 {
		t.Errorf("position = %d@%d", env.Partition, env.Offset)
	}
	msg, err := env.Decode()
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	got, ok := msg.(*eventspb.UserRegistered)
	if !ok {
		t.Fatalf("Decode returned %T", msg)
	}
	if !proto.Equal(got, want) {
		t.Fatalf("decoded %v, want %v", got, want)
	}
}

func TestDecodeEveryUserEvent(t *testing.T) {
	now := timestamppb.New(registeredAt)
	events := []proto.Message{
		userRegistered(),
		&eventspb.UserLoggedIn{UserId: userID, Method: eventspb.AuthMethod_AUTH_METHOD_TWITCH, SessionId: "s", LoggedInAt: now},
		&eventspb.TokenRefreshed{UserId: userID, SessionId: "s", RefreshedAt: now},
		&eventspb.TokenFamilyRevoked{UserId: userID, SessionId: "s", Reason: "refresh_token_reuse", RevokedAt: now},
		&eventspb.TwitchAccountLinked{UserId: userID, TwitchUserId: "123", TwitchLogin: "ann_tv", LinkedAt: now},
		&eventspb.UserRoleChanged{UserId: userID, Role: "developer", ChangedBy: "admin-1", ChangedAt: now},
	}
	for _, want := range events {
		name := string(want.ProtoReflect().Descriptor().FullName())
		t.Run(name, func(t *testing.T) {
			env, err := FromRecord(consumerMessage(t, want, hdr(HeaderType, name)))
			if err != nil {
				t.Fatal(err)
			}
			got, err := env.Decode()
			if err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(got, want) {
				t.Fatalf("decoded %v, want %v", got, want)
			}
		})
	}
}

func TestFromRecordTolerance(t *testing.T) {
	cases := []struct {
		name    string
		headers []*sarama.RecordHeader
		check   func(t *testing.T, e Envelope)
	}{
		{"nil headers skipped", []*sarama.RecordHeader{nil, hdr(HeaderType, "oof.events.v1.UserRegistered"), nil},
			func(t *testing.T, e Envelope) {
				if e.Type != "oof.events.v1.UserRegistered" {
					t.Fatalf("type %q", e.Type)
				}
			}},
		{"bad ce_time leaves zero time", []*sarama.RecordHeader{hdr(HeaderType, "oof.events.v1.UserRegistered"), hdr(HeaderTime, "yesterday")},
			func(t *testing.T, e Envelope) {
				if !e.Time.IsZero() {
					t.Fatalf("time %v", e.Time)
				}
			}},
		{"offset time normalised", []*sarama.RecordHeader{hdr(HeaderType, "x.Y"), hdr(HeaderTime, "2030-01-02T04:04:05.123456789+01:00")},
			func(t *testing.T, e Envelope) {
				if !e.Time.Equal(registeredAt) {
					t.Fatalf("time %v", e.Time)
				}
			}},
		{"unknown headers ignored", []*sarama.RecordHeader{hdr("x-custom", "1"), hdr(HeaderType, "x.Y")},
			func(t *testing.T, e Envelope) {
				if e.ID != "" || e.Source != "" || e.Subject != "" || e.TraceParent != "" {
					t.Fatalf("envelope %+v", e)
				}
			}},
		{"later duplicate wins", []*sarama.RecordHeader{hdr(HeaderType, "a.A"), hdr(HeaderType, "b.B")},
			func(t *testing.T, e Envelope) {
				if e.Type != "b.B" {
					t.Fatalf("type %q", e.Type)
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e, err := FromRecord(consumerMessage(t, userRegistered(), tc.headers...))
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, e)
		})
	}
}

func TestFromRecordMissingType(t *testing.T) {
	cases := []struct {
		name    string
		headers []*sarama.RecordHeader
	}{
		{"no headers", nil},
		{"everything but ce_type", fullHeaders()[:3]},
		{"empty ce_type", []*sarama.RecordHeader{hdr(HeaderType, "")}},
		{"wrong case header", []*sarama.RecordHeader{hdr("CE_TYPE", "oof.events.v1.UserRegistered")}},
		{"http-style header name", []*sarama.RecordHeader{hdr("ce-type", "oof.events.v1.UserRegistered")}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := FromRecord(consumerMessage(t, userRegistered(), tc.headers...))
			if err == nil {
				t.Fatal("want an error for a record without ce_type")
			}
			for _, frag := range []string{"ce_type", "oof.user.v1", "3", "42"} {
				if !strings.Contains(err.Error(), frag) {
					t.Errorf("error %q does not mention %s", err, frag)
				}
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	cases := []struct {
		name    string
		typ     string
		payload []byte
		want    string
	}{
		{"unknown type", "oof.events.v1.NoSuchEvent", nil, `unknown event type "oof.events.v1.NoSuchEvent"`},
		{"go type name, not proto name", "eventspb.UserRegistered", nil, "unknown event type"},
		{"garbage payload", "oof.events.v1.UserRegistered", []byte{0xff, 0xff, 0xff}, "decode oof.events.v1.UserRegistered at oof.user.v1/3@42"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := Envelope{Type: tc.typ, Topic: "oof.user.v1", Partition: 3, Offset: 42, Payload: tc.payload}
			msg, err := e.Decode()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Decode = %v, %v; want error containing %q", msg, err, tc.want)
			}
		})
	}
}

func TestTraceParentContext(t *testing.T) {
	if got := TraceParentFrom(context.Background()); got != "" {
		t.Fatalf("empty ctx carries %q", got)
	}
	ctx := WithTraceParent(context.Background(), tp)
	if got := TraceParentFrom(ctx); got != tp {
		t.Fatalf("TraceParentFrom = %q", got)
	}
}
