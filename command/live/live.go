// Package live is the inbound half of live events (docs/realtime.md, Live
// events): Publish checks a member's GameEvent, fills what the server owns
// and appends it to oof.live.v1, keyed by session id. Live events change no
// write model, so they are not staged in the outbox: the Kafka ack is the
// commit. Publish takes the caller as an argument, so the streams, the
// WebSocket gateway and the matchmaker call it alike.
package live

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/proto"

	eventspb "github.com/oof-gg/platform/api/gen/oof/events/v1"
	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	"github.com/oof-gg/platform/pkg/aggregate"
	"github.com/oof-gg/platform/pkg/apperr"
	"github.com/oof-gg/platform/pkg/auth"
	"github.com/oof-gg/platform/pkg/config"
	"github.com/oof-gg/platform/pkg/eventlog"
	"github.com/oof-gg/platform/pkg/redisx"
)

const source = "/oof/command/live"

// SeenTTL is how long a published event id is remembered for
// de-duplication.
const SeenTTL = 10 * time.Minute

// Finisher finishes a session through the session command path (a
// TYPE_COMPLETION from a game instance).
type Finisher func(ctx context.Context, caller auth.Principal, sessionID, gameID string) error

// Publisher accepts live events.
type Publisher struct {
	Store    *aggregate.Store // the session write model: who is a member
	Producer *eventlog.Producer
	Redis    *redis.Client
	Keys     redisx.Keys
	Topic    string // full oof.live.v1 name
	Limits   config.Live
	// Finish, when set, is called after a TYPE_COMPLETION from an instance
	// is on the log.
	Finish Finisher
	Now    func() time.Time
	Log    *slog.Logger

	members memberCache
	rate    limiter
	seen    seenBatcher
}

// Result is what Publish did with an event.
type Result struct {
	// Event is the event as members receive it (server fields filled).
	Event *gamepb.GameEvent
	// Duplicate: an event with this id was already published; nothing was
	// appended.
	Duplicate bool
}

// Publish validates ev, checks caller may send it into its session and
// appends it to the log. ev is not modified. Every refusal is an apperr
// (INVALID_ARGUMENT, RESOURCE_EXHAUSTED, NOT_FOUND, PERMISSION_DENIED,
// FAILED_PRECONDITION) and appends nothing.
func (p *Publisher) Publish(ctx context.Context, caller auth.Principal, ev *gamepb.GameEvent) (Result, error) {
	if err := CheckEvent(ev, p.Limits.MaxEventBytes); err != nil {
		return Result{}, err
	}
	if err := p.allow(caller.UserID); err != nil {
		return Result{}, err
	}
	m, err := p.members.get(ctx, p.Store, ev.GetSessionId(), p.Now())
	if err != nil {
		return Result{}, err
	}
	if ev.GameId != nil && ev.GetGameId() != m.gameID {
		return Result{}, apperr.NotFound("session not found in this game")
	}
	role, err := m.roleOf(caller)
	if err != nil {
		return Result{}, err
	}
	if t := ev.GetType(); (t == gamepb.GameEvent_TYPE_SYSTEM || t == gamepb.GameEvent_TYPE_COMPLETION) &&
		role != eventspb.LiveEvent_SENDER_ROLE_INSTANCE {
		return Result{}, apperr.PermissionDenied("not allowed to send TYPE_SYSTEM or TYPE_COMPLETION events (game instances only: the service role or the game's owner)")
	}
	if !m.live {
		return Result{}, apperr.FailedPrecondition("the session is finished or deleted")
	}
	out := proto.Clone(ev).(*gamepb.GameEvent)
	out.PlayerId = proto.String(caller.UserID)
	res, err := p.append(ctx, out, m.gameID, role)
	if err != nil || res.Duplicate {
		return res, err
	}
	if out.GetType() == gamepb.GameEvent_TYPE_COMPLETION && p.Finish != nil {
		if err := p.Finish(ctx, caller, out.GetSessionId(), m.gameID); err != nil && !apperr.Is(err, apperr.KindFailedPrecondition) {
			// The completion is on the log; the instance may finish the
			// session again with UpdateSession.
			p.Log.WarnContext(ctx, "finishing the session after TYPE_COMPLETION failed", "session_id", out.GetSessionId(), "err", err)
			return Result{Event: out}, err
		}
		p.members.forget(out.GetSessionId())
	}
	return Result{Event: out}, nil
}

// PublishSystem appends an event the platform itself originates (presence
// joined/left, docs/realtime.md) into its session's stream: a TYPE_SYSTEM
// event from no member, so neither the sender's rate limit nor its
// membership applies; the event keeps its player_id (the player it is
// about). The session must exist and still be live.
func (p *Publisher) PublishSystem(ctx context.Context, ev *gamepb.GameEvent) (Result, error) {
	if err := CheckEvent(ev, p.Limits.MaxEventBytes); err != nil {
		return Result{}, err
	}
	m, err := p.members.get(ctx, p.Store, ev.GetSessionId(), p.Now())
	if err != nil {
		return Result{}, err
	}
	if !m.live {
		return Result{}, apperr.FailedPrecondition("the session is finished or deleted")
	}
	out := proto.Clone(ev).(*gamepb.GameEvent)
	out.Type = gamepb.GameEvent_TYPE_SYSTEM
	return p.append(ctx, out, m.gameID, eventspb.LiveEvent_SENDER_ROLE_INSTANCE)
}

// append fills the server's fields of out (its id when empty, timestamp,
// game id), drops a repeated id and produces it to the log.
func (p *Publisher) append(ctx context.Context, out *gamepb.GameEvent, gameID string, role eventspb.LiveEvent_SenderRole) (Result, error) {
	if out.GetId() == "" {
		id, err := uuid.NewV7()
		if err != nil {
			return Result{}, apperr.Internal("event id", err)
		}
		out.Id = proto.String(id.String())
	}
	out.Timestamp = p.Now().UnixMilli()
	out.GameId = proto.String(gameID)

	seen := p.Keys.Key("live", "seen", out.GetSessionId(), out.GetId())
	first, err := p.seen.mark(ctx, p.Redis, seen, SeenTTL)
	if err != nil {
		return Result{}, apperr.Unavailable("live state unavailable", fmt.Errorf("dedupe: %w", err))
	}
	if !first {
		return Result{Event: out, Duplicate: true}, nil
	}
	if err := ctx.Err(); err != nil {
		// The caller is gone (its stream ended, the server is stopping)
		// while the mark was pending: produce nothing, as a cancelled
		// SET NX used to, and forget the mark so a retry is not a duplicate.
		_ = p.Redis.Del(context.WithoutCancel(ctx), seen).Err()
		return Result{}, err
	}
	_, err = p.Producer.Publish(ctx, eventlog.Event{
		Topic: p.Topic, Key: out.GetSessionId(), Subject: "session/" + out.GetSessionId(), Source: source,
		Message: &eventspb.LiveEvent{Event: out, SenderRole: role},
	})
	if err != nil {
		// Not on the log: a retry with the same id must not be taken for a
		// duplicate. (A produce whose outcome is unknown may still land;
		// then the retry appends it twice, which members see as two
		// events with one id — the price of at-least-once.)
		_ = p.Redis.Del(context.WithoutCancel(ctx), seen).Err()
		return Result{}, err
	}
	return Result{Event: out}, nil
}
