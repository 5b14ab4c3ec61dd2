package presence

import "github.com/redis/go-redis/v9"

// Redis layout (keys under the configured prefix):
//
//	presence:<session>      ZSET  "<user>|<conn>" → expiry (unix ms, Redis clock)
//	presence:<session>:seq  INT   bumped by every joined/left: the order of changes
//	presence:sessions       ZSET  session → its earliest conn expiry (what the sweep visits)
//	presence:online         ZSET  user → expiry of its latest conn (who is online)
//
// A member is one user; a user with two conns into a session is joined
// once and leaves with its last conn. Every step is one script, so
// instances racing on one session never both announce a change.

// joinScript adds or refreshes a conn. KEYS: set, seq, index, online;
// ARGV: member, "<user>|", ttl ms, session id, user. Returns {joined, seq}:
// joined is 1 when the user had no other conn (then seq was bumped).
var joinScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local exp = now + tonumber(ARGV[3])
local had = 0
for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if m ~= ARGV[1] and string.sub(m, 1, #ARGV[2]) == ARGV[2] then had = 1 break end
end
local added = redis.call('ZADD', KEYS[1], exp, ARGV[1])
redis.call('PEXPIRE', KEYS[1], 2 * tonumber(ARGV[3]) + 60000)
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
redis.call('ZADD', KEYS[3], first[2], ARGV[4])
redis.call('ZADD', KEYS[4], 'GT', exp, ARGV[5])
if added == 1 and had == 0 then
  local seq = redis.call('INCR', KEYS[2])
  redis.call('PEXPIRE', KEYS[2], 2 * tonumber(ARGV[3]) + 60000)
  return {1, seq}
end
return {0, 0}
`)

// leaveScript removes a conn. KEYS: set, seq, index; ARGV: member,
// "<user>|", session id, ttl ms. Returns {left, seq}: left is 1 when it was
// the user's last conn.
var leaveScript = redis.NewScript(`
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return {0, 0} end
local still = 0
for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if string.sub(m, 1, #ARGV[2]) == ARGV[2] then still = 1 break end
end
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #first == 0 then redis.call('ZREM', KEYS[3], ARGV[3]) else redis.call('ZADD', KEYS[3], first[2], ARGV[3]) end
if still == 1 then return {0, 0} end
local seq = redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[2], 2 * tonumber(ARGV[4]) + 60000)
return {1, seq}
`)

// sweepScript removes a session's expired conns. KEYS: set, seq, index;
// ARGV: session id, ttl ms. Returns a flat list user, seq, user, seq, … of
// the users whose last conn expired.
var sweepScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
if #gone > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now) end
local function user(m)
  local i = string.find(m, '|', 1, true)
  if i == nil then return m end
  return string.sub(m, 1, i - 1)
end
local remaining = {}
for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do remaining[user(m)] = true end
local out, seen = {}, {}
for _, m in ipairs(gone) do
  local u = user(m)
  if not remaining[u] and not seen[u] then
    seen[u] = true
    table.insert(out, u)
    table.insert(out, redis.call('INCR', KEYS[2]))
  end
end
if #out > 0 then redis.call('PEXPIRE', KEYS[2], 2 * tonumber(ARGV[2]) + 60000) end
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #first == 0 then redis.call('ZREM', KEYS[3], ARGV[1]) else redis.call('ZADD', KEYS[3], first[2], ARGV[1]) end
return out
`)

// snapshotScript reads a session's present users. KEYS: set, seq. Returns
// {seq, member, member, …} of the unexpired conns.
var snapshotScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local out = {tonumber(redis.call('GET', KEYS[2]) or '0')}
for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')) do table.insert(out, m) end
return out
`)

// onlineScript marks a user online for ttl. KEYS: online; ARGV: user, ttl ms.
var onlineScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], 'GT', now + tonumber(ARGV[2]), ARGV[1])
return 1
`)
