package config

// Quotas bound what one user can make the platform keep: without them a
// single player could fill a game with sessions (locking its owner out) or
// a session with entities, which are also copied into Redis for a day.
// docs/authorization.md (Quotas) states the rules they feed.
type Quotas struct {
	// OpenSessionsPerUser is how many sessions that are neither FINISHED nor
	// DELETED a player may host in one game (the game's managers are
	// exempt).
	OpenSessionsPerUser int
	// SessionReservePercent of a game's max_sessions (rounded up) is kept
	// for the game's managers: players' creates stop at max_sessions minus
	// that share, so players never take the last slots.
	SessionReservePercent int
	// EntitiesPerSession is how many live entities a session may hold.
	EntitiesPerSession int
	// EntityBytesPerSession is how many bytes its live entities may hold
	// together (their stored encoding).
	EntityBytesPerSession int64
}

// DefaultQuotas are the limits used when nothing is configured. A session's
// entities fit in 8 MiB (1,000 entities of ~8 KiB, or about 60 of the
// largest possible); a player hosts at most 5 open sessions per game.
func DefaultQuotas() Quotas {
	return Quotas{
		OpenSessionsPerUser:   5,
		SessionReservePercent: 10,
		EntitiesPerSession:    1000,
		EntityBytesPerSession: 8 << 20,
	}
}

// OrDefaults fills unset (zero) limits with the defaults, so a handler
// built without configuration is limited, not unlimited. A reserve of 0 is
// a setting (no reserve), so it is only filled when nothing is set at all.
func (q Quotas) OrDefaults() Quotas {
	d := DefaultQuotas()
	if q == (Quotas{}) {
		return d
	}
	if q.OpenSessionsPerUser <= 0 {
		q.OpenSessionsPerUser = d.OpenSessionsPerUser
	}
	if q.SessionReservePercent < 0 {
		q.SessionReservePercent = d.SessionReservePercent
	}
	if q.EntitiesPerSession <= 0 {
		q.EntitiesPerSession = d.EntitiesPerSession
	}
	if q.EntityBytesPerSession <= 0 {
		q.EntityBytesPerSession = d.EntityBytesPerSession
	}
	return q
}

func (r *reader) quotas() Quotas {
	d := DefaultQuotas()
	return Quotas{
		OpenSessionsPerUser: r.integer("OOF_QUOTA_OPEN_SESSIONS_PER_USER", d.OpenSessionsPerUser, 1, 1_000_000),
		// 100 would leave players no session at all; 0 turns the reserve off.
		SessionReservePercent: r.integer("OOF_QUOTA_SESSION_RESERVE_PERCENT", d.SessionReservePercent, 0, 99),
		// The counter is an integer column; 10,000 was the former fixed cap.
		EntitiesPerSession: r.integer("OOF_QUOTA_ENTITIES_PER_SESSION", d.EntitiesPerSession, 1, 1_000_000),
		// At least room for one entity of the largest size (~130 KiB).
		EntityBytesPerSession: int64(r.integer("OOF_QUOTA_ENTITY_BYTES_PER_SESSION", int(d.EntityBytesPerSession), 256<<10, 1<<40)),
	}
}
