package live

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/oof-gg/platform/pkg/apperr"
)

// bucketScript is a token bucket per key, on Redis's clock so every
// instance of the stream target shares one bucket per player: refill at
// ARGV[1] tokens/s up to ARGV[2], take one. Returns {allowed, retry ms}.
var bucketScript = redis.NewScript(`
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local st = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(st[1])
local ts = tonumber(st[2])
if tokens == nil or ts == nil then tokens = burst; ts = now end
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate / 1000)
local allowed = 0
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  wait = math.ceil((1 - tokens) * 1000 / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
return {allowed, wait}
`)

// allow takes one token of player's bucket (OOF_LIVE_RATE/OOF_LIVE_BURST).
func (p *Publisher) allow(ctx context.Context, player string) error {
	res, err := bucketScript.Run(ctx, p.Redis, []string{p.Keys.Key("live", "rate", player)},
		p.Limits.Rate, p.Limits.Burst).Int64Slice()
	if err != nil {
		return apperr.Unavailable("live state unavailable", fmt.Errorf("live rate limit: %w", err))
	}
	if res[0] == 1 {
		return nil
	}
	wait := time.Duration(res[1]) * time.Millisecond
	return apperr.ResourceExhausted(fmt.Sprintf("too many live events: at most %d per second (bursts of %d); slow down",
		p.Limits.Rate, p.Limits.Burst), wait)
}
