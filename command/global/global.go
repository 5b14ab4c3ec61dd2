// Package global is the inbound half of global events (docs/realtime.md,
// Global events): Publish checks an admin's or a service's GlobalEvent,
// fills what the server owns and appends it to oof.global.v1 under one key,
// so every client sees one order. Like live events they change no write
// model: the Kafka ack is the commit. The caller is an argument, so the
// gRPC stream and the WebSocket gateway call it alike.
package global

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/proto"

	eventspb "github.com/oof-gg/platform/api/gen/oof/events/v1"
	globalpb "github.com/oof-gg/platform/api/gen/v1/api/global"
	"github.com/oof-gg/platform/command/live"
	"github.com/oof-gg/platform/pkg/apperr"
	"github.com/oof-gg/platform/pkg/auth"
	"github.com/oof-gg/platform/pkg/authz"
	"github.com/oof-gg/platform/pkg/eventlog"
	"github.com/oof-gg/platform/pkg/redisx"
	"github.com/oof-gg/platform/pkg/validate"
)

const source = "/oof/command/global"

// Key is the one record key of oof.global.v1.
const Key = "global"

// SeenTTL is how long a published event id is remembered for
// de-duplication.
const SeenTTL = 10 * time.Minute

// Limits of one event's fields are live events' (its whole size is
// bounded by MaxBytes).
const (
	maxNameLen       = live.MaxNameLen
	maxAttributes    = live.MaxAttributes
	maxAttrKeyLen    = live.MaxAttrKeyLen
	maxAttrStringLen = live.MaxAttrStringLen
)

// Publisher accepts global events.
type Publisher struct {
	Producer *eventlog.Producer
	Redis    *redis.Client
	Keys     redisx.Keys
	Topic    string // full oof.global.v1 name
	MaxBytes int    // one event's encoded size (OOF_LIVE_MAX_EVENT_BYTES)
	Now      func() time.Time
}

// Result is what Publish did with an event.
type Result struct {
	Event     *globalpb.GlobalEvent // as clients receive it
	Duplicate bool                  // its id was already published; nothing appended
}

// Publish validates ev and appends it to the log as caller. Only admins
// and services may publish (PERMISSION_DENIED otherwise); every refusal is
// an apperr and appends nothing. ev is not modified.
func (p *Publisher) Publish(ctx context.Context, caller auth.Principal, ev *globalpb.GlobalEvent) (Result, error) {
	var role eventspb.GlobalEventSent_SenderRole
	switch {
	case authz.IsAdmin(caller):
		role = eventspb.GlobalEventSent_SENDER_ROLE_ADMIN
	case authz.IsService(caller):
		role = eventspb.GlobalEventSent_SENDER_ROLE_SERVICE
	default:
		return Result{}, authz.Denied("publish global events (admins and services only)")
	}
	if err := CheckEvent(ev, p.MaxBytes); err != nil {
		return Result{}, err
	}
	out := proto.Clone(ev).(*globalpb.GlobalEvent)
	if out.GetId() == "" {
		id, err := uuid.NewV7()
		if err != nil {
			return Result{}, apperr.Internal("event id", err)
		}
		out.Id = id.String()
	}
	out.Timestamp = p.Now().UnixMilli()
	out.PlayerId = proto.String(caller.UserID)

	seen := p.Keys.Key("global", "seen", out.GetId())
	first, err := p.Redis.SetNX(ctx, seen, "1", SeenTTL).Result()
	if err != nil {
		return Result{}, apperr.Unavailable("global state unavailable", fmt.Errorf("dedupe: %w", err))
	}
	if !first {
		return Result{Event: out, Duplicate: true}, nil
	}
	_, err = p.Producer.Publish(ctx, eventlog.Event{
		Topic: p.Topic, Key: Key, Subject: "global", Source: source,
		Message: &eventspb.GlobalEventSent{Event: out, SenderRole: role},
	})
	if err != nil {
		// Not on the log: a retry with the same id is not a duplicate.
		_ = p.Redis.Del(context.WithoutCancel(ctx), seen).Err()
		return Result{}, err
	}
	return Result{Event: out}, nil
}

// CheckEvent validates what a publisher may set. timestamp and player_id
// are overwritten, so not checked.
func CheckEvent(ev *globalpb.GlobalEvent, maxBytes int) error {
	if ev == nil {
		return apperr.Invalid("event", "is required")
	}
	if n := proto.Size(ev); n > maxBytes {
		return apperr.ResourceExhausted(fmt.Sprintf("event too large: %d bytes, at most %d", n, maxBytes), 0)
	}
	var c validate.Checks
	if ev.GetId() != "" {
		live.CheckEventID(&c, ev.GetId())
	}
	c.Text("event_name", ev.GetEventName(), 1, maxNameLen)
	if ev.GameId != nil {
		c.ID("game_id", ev.GetGameId())
	}
	if ev.TeamId != nil {
		c.Text("team_id", ev.GetTeamId(), 1, maxNameLen)
	}
	if _, ok := globalpb.GlobalEvent_EventType_name[int32(ev.GetType())]; !ok {
		c.Add("type", "must be one of the EventType values")
	}
	if len(ev.GetAttributes()) > maxAttributes {
		c.Add("attributes", fmt.Sprintf("at most %d attributes", maxAttributes))
	}
	for k, v := range ev.GetAttributes() {
		c.Text("attributes key", k, 1, maxAttrKeyLen)
		if s, ok := v.GetValue().(*globalpb.GlobalEvent_EventAttribute_StringValue); ok {
			c.Text("attributes value", s.StringValue, 0, maxAttrStringLen)
		}
	}
	return c.Err()
}
