package config

import "time"

// Live is the settings of live event streams (docs/realtime.md, Live
// events).
type Live struct {
	// Rate is how many live events per second one player may send (a token
	// bucket refilled at Rate, holding up to Burst).
	Rate  int
	Burst int
	// Window is how many recent events a session's Redis stream keeps: what
	// a reconnecting member can resume from.
	Window int
	// Expiry drops a session's stream this long after its last event.
	Expiry time.Duration
	// Buffer is how many events a member's connection may fall behind
	// before it is dropped with RESOURCE_EXHAUSTED.
	Buffer int
	// MaxEventBytes bounds one event's encoded size.
	MaxEventBytes int
	// PresenceTTL is how long a conn stays present after its last
	// heartbeat (an open stream heartbeats every third of it): how long a
	// crashed instance's or broken conn's members linger.
	PresenceTTL time.Duration
	// Retention is how long oof.live.v1 keeps records (its retention.ms,
	// set at topic creation and at every start when it differs). The other
	// topics keep theirs forever.
	Retention time.Duration
}

// DefaultLive is used when nothing is configured.
func DefaultLive() Live {
	return Live{Rate: 20, Burst: 40, Window: 1000, Expiry: 24 * time.Hour, Buffer: 256, MaxEventBytes: 16 << 10, PresenceTTL: 30 * time.Second,
		Retention: 7 * 24 * time.Hour}
}

func (r *reader) live() Live {
	d := DefaultLive()
	return Live{
		Rate:          r.integer("OOF_LIVE_RATE", d.Rate, 1, 100_000),
		Burst:         r.integer("OOF_LIVE_BURST", d.Burst, 1, 1_000_000),
		Window:        r.integer("OOF_LIVE_WINDOW", d.Window, 10, 1_000_000),
		Expiry:        r.duration("OOF_LIVE_EXPIRY", d.Expiry),
		Buffer:        r.integer("OOF_LIVE_BUFFER", d.Buffer, 1, 100_000),
		MaxEventBytes: r.integer("OOF_LIVE_MAX_EVENT_BYTES", d.MaxEventBytes, 256, 1<<20),
		PresenceTTL:   r.duration("OOF_PRESENCE_TTL", d.PresenceTTL),
		Retention:     r.duration("OOF_LIVE_RETENTION", d.Retention),
	}
}
