package platform

import (
	"fmt"

	"github.com/oof-gg/platform/pkg/routing"
)

// deps is a set of the platform's infrastructure dependencies.
type deps struct {
	postgres, redis, kafka bool
}

func (d deps) union(o deps) deps {
	return deps{postgres: d.postgres || o.postgres, redis: d.redis || o.redis, kafka: d.kafka || o.kafka}
}

// needs is what one target depends on.
type needs struct {
	// connect is what Build opens; failing to reach one of these at start is
	// fatal. A target never opens what is not listed here.
	connect deps
	// ready is what /readyz and the gRPC health service check: the target
	// cannot do its work while one of these is down.
	ready deps
}

// targetNeeds is the one place that says which target needs what.
var targetNeeds = map[routing.Target]needs{
	// Commands write PostgreSQL (aggregates and the outbox) and use Redis
	// for login limits and refresh tokens. Kafka is the outbox relay's
	// business: it connects by itself in the background and keeps retrying,
	// so a command target starts, and accepts commands, while Kafka is down.
	routing.TargetCommand: {
		connect: deps{postgres: true, redis: true},
		ready:   deps{postgres: true, redis: true},
	},
	// Queries read PostgreSQL read models and Redis (live state, trending,
	// token revocation); they never touch Kafka.
	routing.TargetQuery: {
		connect: deps{postgres: true, redis: true},
		ready:   deps{postgres: true, redis: true},
	},
	// The stream target checks membership in the session write model
	// (PostgreSQL), reads and writes live state in Redis, and produces live
	// events to Kafka itself: the Kafka ack is a live event's commit.
	routing.TargetStream: {
		connect: deps{postgres: true, redis: true, kafka: true},
		ready:   deps{postgres: true, redis: true, kafka: true},
	},
	// Projectors consume Kafka into PostgreSQL, and some (trending,
	// entities) mirror into Redis.
	routing.TargetProjector: {
		connect: deps{postgres: true, redis: true, kafka: true},
		ready:   deps{postgres: true, redis: true, kafka: true},
	},
	// The matchmaker reads tickets in Redis and creates sessions through
	// the session command (PostgreSQL, outbox); like commands, it leaves
	// Kafka to its outbox relay.
	routing.TargetMatchmaker: {
		connect: deps{postgres: true, redis: true},
		ready:   deps{postgres: true, redis: true},
	},
}

// needsOf returns what target needs; TargetAll needs the union of all.
func needsOf(target routing.Target) (needs, error) {
	if target == routing.TargetAll {
		var all needs
		for _, n := range targetNeeds {
			all.connect = all.connect.union(n.connect)
			all.ready = all.ready.union(n.ready)
		}
		return all, nil
	}
	n, ok := targetNeeds[target]
	if !ok {
		return needs{}, fmt.Errorf("platform: unknown target %q", target)
	}
	return n, nil
}
