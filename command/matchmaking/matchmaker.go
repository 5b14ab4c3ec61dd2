package matchmaking

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventspb "github.com/oof-gg/platform/api/gen/oof/events/v1"
	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	stdpb "github.com/oof-gg/platform/api/gen/v1/std"
	"github.com/oof-gg/platform/command/session"
	"github.com/oof-gg/platform/pkg/aggregate"
	"github.com/oof-gg/platform/pkg/apperr"
	"github.com/oof-gg/platform/pkg/auth"
	"github.com/oof-gg/platform/pkg/idempotency"
	"github.com/oof-gg/platform/pkg/outbox"
	"github.com/oof-gg/platform/pkg/validate"
)

// ServiceUserID is the matchmaker's user id: the host of the sessions it
// creates and the caller its idempotency keys are scoped to.
const ServiceUserID = "00000000-0000-4000-8000-6d617463686d"

// Identity is who the matchmaker is to the session command: a service
// principal, so it may list any players (docs/authorization.md).
var Identity = auth.Principal{UserID: ServiceUserID, Role: auth.RoleService}

// Matchmaker places queued tickets into sessions. Any number may run
// against the same Redis and database: a group of tickets is claimed by one
// script call (all or none), so no ticket is placed twice; a player holds
// at most one ticket per game, so no player is placed twice.
type Matchmaker struct {
	Tickets  *Tickets
	Sessions *session.Handler // CreateAs: the matchmaker's decisions are session commands
	Outbox   *outbox.Outbox
	Topic    string // full oof.matchmaking.v1 name
	// MaxWait (OOF_MATCH_MAX_WAIT) is how long the oldest ticket of a pool
	// waits for a full session before one with fewer players starts, for
	// games whose data allows it ({"matchmaking": {"min_players": n}}).
	MaxWait  time.Duration
	Interval time.Duration // between rounds; default 200ms
	// ClaimTimeout is how long a claimer has to create its group's session
	// before another instance takes the group over (default 30s).
	ClaimTimeout time.Duration
	Log          *slog.Logger
}

// Run matches until ctx ends.
func (m *Matchmaker) Run(ctx context.Context) error {
	every := m.Interval
	if every <= 0 {
		every = 200 * time.Millisecond
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := m.Round(ctx); err != nil && ctx.Err() == nil {
			m.Log.WarnContext(ctx, "matchmaking round failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Round ends expired tickets, finishes groups whose claimer vanished, and
// forms what sessions the queues allow.
func (m *Matchmaker) Round(ctx context.Context) error {
	expired, err := m.Tickets.sweep(ctx, 500)
	if len(expired) > 0 {
		events := make([]proto.Message, 0, len(expired))
		for _, tk := range expired {
			events = append(events, &eventspb.MatchTimedOut{Ticket: ticketEvent(tk), At: timestamppb.Now()})
		}
		for i, tk := range expired {
			if perr := publish(ctx, m.Outbox, m.Topic, tk.ID, events[i]); perr != nil {
				return perr
			}
		}
	}
	if err != nil {
		return err
	}
	for range 10 {
		group, err := m.Tickets.takeover(ctx, time.Now().Add(m.claimTimeout()))
		if err != nil || group == "" {
			if err != nil {
				return err
			}
			break
		}
		tickets, err := m.Tickets.group(ctx, group)
		if err != nil {
			return err
		}
		m.create(ctx, group, tickets)
	}
	pools, err := m.Tickets.pools(ctx)
	if err != nil {
		return err
	}
	for _, pool := range pools {
		if err := m.matchPool(ctx, pool); err != nil {
			return err
		}
	}
	return nil
}

func (m *Matchmaker) claimTimeout() time.Duration {
	if m.ClaimTimeout > 0 {
		return m.ClaimTimeout
	}
	return 30 * time.Second
}

// settings are what a game says about its sessions' size.
type settings struct{ size, min int }

func (m *Matchmaker) settings(ctx context.Context, game string) (settings, bool, error) {
	rec, err := m.Sessions.Store.Load(ctx, aggregate.KindGame, game)
	if errors.Is(err, aggregate.ErrNotFound) {
		return settings{}, false, nil
	}
	if err != nil {
		return settings{}, false, err
	}
	g := &gamepb.Game{}
	if err := proto.Unmarshal(rec.State, g); err != nil {
		return settings{}, false, err
	}
	s := settings{size: max(1, validate.Count(g.GetMaxPlayersPerSession()))}
	s.min = s.size
	var data struct {
		Matchmaking struct {
			MinPlayers int `json:"min_players"`
		} `json:"matchmaking"`
	}
	if g.Data != nil && json.Unmarshal([]byte(g.GetData()), &data) == nil {
		if n := data.Matchmaking.MinPlayers; n >= 1 && n < s.size {
			s.min = n
		}
	}
	return s, true, nil
}

func (m *Matchmaker) matchPool(ctx context.Context, pool string) error {
	cands, err := m.Tickets.candidates(ctx, pool, 500)
	if err != nil {
		return err
	}
	if len(cands) == 0 {
		return m.Tickets.dropPool(ctx, pool)
	}
	game, _, _ := strings.Cut(pool, ":")
	set, found, err := m.settings(ctx, game)
	if err != nil || !found {
		return err // a deleted game's tickets simply expire
	}
	for len(cands) > 0 {
		waited := time.Since(cands[0].Queued) >= m.MaxWait
		grp := pick(cands, set.size, set.min, waited)
		if grp == nil {
			return nil
		}
		ids := make([]string, len(grp))
		for i, tk := range grp {
			ids[i] = tk.ID
		}
		group, err := uuid.NewV7()
		if err != nil {
			return err
		}
		ok, err := m.Tickets.claim(ctx, group.String(), pool, ids, time.Now().Add(m.claimTimeout()))
		if err != nil || !ok {
			return err // another matchmaker took one of them: next round
		}
		m.create(ctx, group.String(), grp)
		cands = without(cands, ids)
	}
	return nil
}

// create makes the session of a claimed group and marks its tickets
// matched. The idempotency key is the group, so a group taken over after a
// crash gets the session created before it, never a second one. A refusal
// (say the game has no room for another session) puts the tickets back;
// an outage leaves them claimed for a later takeover.
func (m *Matchmaker) create(ctx context.Context, group string, tickets []Ticket) {
	if len(tickets) == 0 {
		_ = m.Tickets.release(ctx, group)
		return
	}
	req := &gamepb.SessionCreate{GameId: tickets[0].Game, State: gamepb.GameState_STATE_STARTED}
	if r := tickets[0].Region; r != stdpb.RegionEnum_REGION_UNSPECIFIED {
		req.Region = &r
	}
	for _, tk := range tickets {
		req.UserIds = append(req.UserIds, tk.Player)
		// Teams go on the session as attributes "team:<player>" (a session
		// has at most 64 attributes).
		if tk.Team != "" && len(req.Attributes) < 64 {
			if req.Attributes == nil {
				req.Attributes = map[string]*gamepb.GameAttribute{}
			}
			req.Attributes["team:"+tk.Player] = &gamepb.GameAttribute{Value: &gamepb.GameAttribute_StringValue{StringValue: tk.Team}}
		}
	}
	s, _, err := m.Sessions.CreateAs(idempotency.WithKey(ctx, "match-"+group), Identity, req)
	if err != nil {
		switch apperr.KindOf(err) {
		case apperr.KindUnavailable, apperr.KindInternal, apperr.KindAborted:
			m.Log.WarnContext(ctx, "match session not created yet; a later round takes the group over", "group", group, "err", err)
		default:
			m.Log.WarnContext(ctx, "match session refused; tickets go back to the queue", "group", group, "err", err)
			if rerr := m.Tickets.release(ctx, group); rerr != nil {
				m.Log.WarnContext(ctx, "release group", "group", group, "err", rerr)
			}
		}
		return
	}
	// Events first, then the tickets: a crash in between re-runs the group
	// (same session, events again: at least once).
	for _, tk := range tickets {
		ev := &eventspb.MatchFound{Ticket: ticketEvent(tk), SessionId: s.GetId(), PlayerIds: req.UserIds, At: timestamppb.Now()}
		if err := publish(ctx, m.Outbox, m.Topic, tk.ID, ev); err != nil {
			m.Log.WarnContext(ctx, "match events not staged; a later round takes the group over", "group", group, "err", err)
			return
		}
	}
	if err := m.Tickets.matched(ctx, group, s.GetId()); err != nil {
		m.Log.WarnContext(ctx, "mark tickets matched", "group", group, "err", err)
	}
}

func without(ts []Ticket, ids []string) []Ticket {
	gone := map[string]bool{}
	for _, id := range ids {
		gone[id] = true
	}
	var out []Ticket
	for _, t := range ts {
		if !gone[t.ID] {
			out = append(out, t)
		}
	}
	return out
}

// pick chooses the next group from cands (oldest first): size tickets, or
// fewer (at least minPlayers) once the oldest has waited long enough.
// When tickets name teams the group is balanced: with T teams in the pool
// (at least 2) no team gets more than ceil(size/T) places; tickets without
// a team fill any place.
func pick(cands []Ticket, size, minPlayers int, waited bool) []Ticket {
	teams := map[string]int{}
	for _, t := range cands {
		if t.Team != "" {
			teams[t.Team] = 0
		}
	}
	limit := size
	if len(teams) > 0 {
		n := max(2, len(teams))
		limit = (size + n - 1) / n
	}
	var grp []Ticket
	for _, t := range cands {
		if len(grp) == size {
			break
		}
		if t.Team != "" {
			if teams[t.Team] >= limit {
				continue
			}
			teams[t.Team]++
		}
		grp = append(grp, t)
	}
	if len(grp) == size || (waited && minPlayers < size && len(grp) >= minPlayers) {
		return grp
	}
	return nil
}
