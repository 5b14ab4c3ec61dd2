package live

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	eventspb "github.com/oof-gg/platform/api/gen/oof/events/v1"
	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	"github.com/oof-gg/platform/pkg/aggregate"
	"github.com/oof-gg/platform/pkg/apperr"
	"github.com/oof-gg/platform/pkg/auth"
	"github.com/oof-gg/platform/pkg/authz"
)

// memberTTL is how long a session's member list is trusted without reading
// the write model again. Live events come many per second per session; a
// player who left may still send for this long.
const memberTTL = time.Second

// membership is what Publish needs of a session, read from the write model.
type membership struct {
	gameID, host, gameOwner string
	users                   []string
	live                    bool
	at                      time.Time
}

// roleOf says as what caller sends into the session, or refuses.
func (m membership) roleOf(caller auth.Principal) (eventspb.LiveEvent_SenderRole, error) {
	switch {
	case authz.IsService(caller) || caller.UserID == m.gameOwner:
		return eventspb.LiveEvent_SENDER_ROLE_INSTANCE, nil
	case authz.IsAdmin(caller):
		return eventspb.LiveEvent_SENDER_ROLE_MANAGER, nil
	case caller.UserID == m.host || slices.Contains(m.users, caller.UserID):
		return eventspb.LiveEvent_SENDER_ROLE_MEMBER, nil
	}
	return 0, apperr.PermissionDenied("not allowed to send events into this session (its host and players, the game's owner, admins and game instances only)")
}

// IsMember reports whether caller may take part in the session's stream.
func (m membership) IsMember(caller auth.Principal) bool {
	_, err := m.roleOf(caller)
	return err == nil
}

// memberCache keeps recently read memberships, per process.
type memberCache struct {
	mu sync.Mutex
	m  map[string]membership
}

func (c *memberCache) get(ctx context.Context, store *aggregate.Store, sessionID string, now time.Time) (membership, error) {
	c.mu.Lock()
	m, ok := c.m[sessionID]
	c.mu.Unlock()
	if ok && now.Sub(m.at) < memberTTL {
		return m, nil
	}
	sc, err := store.LoadWithParent(ctx, aggregate.KindSession, sessionID, aggregate.KindGame)
	if errors.Is(err, aggregate.ErrNotFound) {
		return membership{}, apperr.NotFound("session not found")
	}
	if err != nil {
		return membership{}, err
	}
	s := &gamepb.Session{}
	if err := proto.Unmarshal(sc.State, s); err != nil {
		return membership{}, apperr.Internal("decode session", err)
	}
	m = membership{gameID: sc.Parent.ID, host: sc.Owner, gameOwner: sc.Parent.Owner,
		users: s.GetUserIds(), live: sc.Live, at: now}
	c.mu.Lock()
	if c.m == nil || len(c.m) > 100_000 {
		c.m = map[string]membership{} // a crude bound; entries are cheap to reload
	}
	c.m[sessionID] = m
	c.mu.Unlock()
	return m, nil
}

func (c *memberCache) forget(sessionID string) {
	c.mu.Lock()
	delete(c.m, sessionID)
	c.mu.Unlock()
}

// CheckMember is the check a stream makes when it opens: caller may read
// the session's events (the same rule as sending, without the type rule).
// It answers the session's game id.
func (p *Publisher) CheckMember(ctx context.Context, caller auth.Principal, sessionID string) (string, error) {
	m, err := p.members.get(ctx, p.Store, sessionID, p.Now())
	if err != nil {
		return "", err
	}
	if _, err := m.roleOf(caller); err != nil {
		return "", err
	}
	return m.gameID, nil
}

// IsInstance reports whether caller is a game instance of the session's
// game (the service role or the game's owner): who may open
// InstanceService.StreamEvents.
func (p *Publisher) IsInstance(ctx context.Context, caller auth.Principal, sessionID string) (bool, error) {
	m, err := p.members.get(ctx, p.Store, sessionID, p.Now())
	if err != nil {
		return false, err
	}
	role, err := m.roleOf(caller)
	return err == nil && role == eventspb.LiveEvent_SENDER_ROLE_INSTANCE, nil
}
