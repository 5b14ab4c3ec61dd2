// Package projector names the platform's projectors, once: a projector's
// name keys its consumer group, its stored offsets and dead letters, and
// what commands wait on for read-your-writes. The projectors themselves
// live in the packages below.
package projector

const (
	Users    = "users"
	Games    = "games"
	Sessions = "sessions"
	Entities = "entities"
	Players  = "players"
	Trending = "trending"
	Scores   = "scores"
)

// Live fans live events out into Redis streams (projector/live); its
// offsets are kept in Redis.
const Live = "live"

// Global fans global events out into one Redis stream (projector/global);
// its offsets are kept in Redis.
const Global = "global"
