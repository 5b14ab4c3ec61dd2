package matchmaking

import "github.com/redis/go-redis/v9"

// The ticket store's decisions are Redis scripts: each runs atomically, so
// JoinLeave calls, WatchQueue heartbeats and any number of matchmaker
// instances never see (or leave) a ticket half changed. Keys, under the
// configured prefix + "mm:":
//
//	t:<ticket>           hash: player game region team state queued expires group session
//	p:<game>:<player>    the player's current ticket of that game (one per player and game)
//	q:<game>:<region>    zset of queued tickets of a pool, scored by queued-at (ms)
//	pools                set of "<game>:<region>" pools that may hold tickets
//	exp                  zset of queued tickets by expiry (ms), for the timeout sweep
//	g:<group>            hash of a claimed group: tickets (space-separated) game region
//	claims               zset of claimed groups by claim deadline (ms)
//
// A ticket is "queued" until expires (now + OOF_MATCH_TICKET_TTL, pushed on
// by every heartbeat), then "claimed" by one matchmaker for one group, then
// "matched" with its session; or "cancelled" or "expired". Its hash is kept
// for a retention period after that so WatchQueue and retries can tell
// what happened.

// joinScript: ARGV prefix, new ticket id, player, game, region, team, now,
// ttl, retain. Returns {"new"|"existing"|"conflict", ticket id}.
var joinScript = redis.NewScript(`
local p, id, player, game, region, team = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local now, ttl, retain = tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])
local pk = p..'p:'..game..':'..player
local cur = redis.call('GET', pk)
if cur then
  local tk = p..'t:'..cur
  local f = redis.call('HMGET', tk, 'state', 'expires', 'region', 'team')
  local live = (f[1] == 'queued' and tonumber(f[2]) >= now) or f[1] == 'claimed'
  if live then
    if f[3] ~= region or f[4] ~= team then return {'conflict', cur} end
    if f[1] == 'queued' then
      redis.call('HSET', tk, 'expires', now + ttl)
      redis.call('ZADD', p..'exp', now + ttl, cur)
      redis.call('PEXPIRE', tk, ttl + retain)
      redis.call('PEXPIRE', pk, ttl + retain)
    end
    return {'existing', cur}
  end
end
local tk = p..'t:'..id
redis.call('HSET', tk, 'player', player, 'game', game, 'region', region, 'team', team,
  'state', 'queued', 'queued', now, 'expires', now + ttl)
redis.call('PEXPIRE', tk, ttl + retain)
redis.call('SET', pk, id, 'PX', ttl + retain)
redis.call('ZADD', p..'q:'..game..':'..region, now, id)
redis.call('SADD', p..'pools', game..':'..region)
redis.call('ZADD', p..'exp', now + ttl, id)
return {'new', id}
`)

// heartbeatScript: ARGV prefix, ticket, now, ttl, retain. Extends a queued
// ticket; returns its state ("expired" once past its expiry, "" if gone).
var heartbeatScript = redis.NewScript(`
local p, id = ARGV[1], ARGV[2]
local now, ttl, retain = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local tk = p..'t:'..id
local f = redis.call('HMGET', tk, 'state', 'expires', 'game', 'player')
if not f[1] then return '' end
if f[1] ~= 'queued' then return f[1] end
if tonumber(f[2]) < now then return 'expired' end
redis.call('HSET', tk, 'expires', now + ttl)
redis.call('ZADD', p..'exp', now + ttl, id)
redis.call('PEXPIRE', tk, ttl + retain)
redis.call('PEXPIRE', p..'p:'..f[3]..':'..f[4], ttl + retain)
return 'queued'
`)

// cancelScript: ARGV prefix, game, player, now. Returns {outcome, ticket}:
// "cancelled" (now), "claimed" (being placed: too late), or "none".
var cancelScript = redis.NewScript(`
local p, game, player, now = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local pk = p..'p:'..game..':'..player
local id = redis.call('GET', pk)
if not id then return {'none', ''} end
local tk = p..'t:'..id
local f = redis.call('HMGET', tk, 'state', 'expires', 'region')
if f[1] == 'claimed' then return {'claimed', id} end
if f[1] ~= 'queued' or tonumber(f[2]) < now then return {'none', id} end
redis.call('HSET', tk, 'state', 'cancelled')
redis.call('ZREM', p..'q:'..game..':'..f[3], id)
redis.call('ZREM', p..'exp', id)
redis.call('DEL', pk)
return {'cancelled', id}
`)

// claimScript: ARGV prefix, group, game, region, now, deadline, ticket ids...
// Claims every ticket for the group, or none when one is no longer queued:
// {"ok"} or {"stale", ticket}. This is what makes several matchmakers safe.
var claimScript = redis.NewScript(`
local p, group, game, region = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local now, deadline = tonumber(ARGV[5]), tonumber(ARGV[6])
local ids = {}
for i = 7, #ARGV do
  local f = redis.call('HMGET', p..'t:'..ARGV[i], 'state', 'expires', 'game', 'region')
  if f[1] ~= 'queued' or tonumber(f[2]) < now or f[3] ~= game or f[4] ~= region then
    return {'stale', ARGV[i]}
  end
  ids[#ids + 1] = ARGV[i]
end
for _, id in ipairs(ids) do
  redis.call('HSET', p..'t:'..id, 'state', 'claimed', 'group', group)
  redis.call('ZREM', p..'q:'..game..':'..region, id)
  redis.call('ZREM', p..'exp', id)
end
redis.call('HSET', p..'g:'..group, 'tickets', table.concat(ids, ' '), 'game', game, 'region', region)
redis.call('ZADD', p..'claims', deadline, group)
return {'ok'}
`)

// matchedScript: ARGV prefix, group, session, retain. Marks the group's
// tickets matched with the session and forgets the group. A player's index
// entry goes, so their next JOIN starts a new search.
var matchedScript = redis.NewScript(`
local p, group, session, retain = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local tickets = redis.call('HGET', p..'g:'..group, 'tickets')
if not tickets then return 0 end
local n = 0
for id in string.gmatch(tickets, '%S+') do
  local tk = p..'t:'..id
  local f = redis.call('HMGET', tk, 'state', 'group', 'game', 'player')
  if f[1] == 'claimed' and f[2] == group then
    redis.call('HSET', tk, 'state', 'matched', 'session', session)
    redis.call('PEXPIRE', tk, retain)
    local pk = p..'p:'..f[3]..':'..f[4]
    if redis.call('GET', pk) == id then redis.call('DEL', pk) end
    n = n + 1
  end
end
redis.call('DEL', p..'g:'..group)
redis.call('ZREM', p..'claims', group)
return n
`)

// releaseScript: ARGV prefix, group, now. Puts a group's tickets back in
// their queue (the session could not be created); expired ones are left
// for the sweep.
var releaseScript = redis.NewScript(`
local p, group, now = ARGV[1], ARGV[2], tonumber(ARGV[3])
local g = redis.call('HMGET', p..'g:'..group, 'tickets', 'game', 'region')
if not g[1] then return 0 end
for id in string.gmatch(g[1], '%S+') do
  local tk = p..'t:'..id
  local f = redis.call('HMGET', tk, 'state', 'group', 'queued', 'expires')
  if f[1] == 'claimed' and f[2] == group then
    redis.call('HSET', tk, 'state', 'queued')
    redis.call('HDEL', tk, 'group')
    redis.call('ZADD', p..'q:'..g[2]..':'..g[3], f[3], id)
    redis.call('ZADD', p..'exp', f[4], id)
  end
end
redis.call('DEL', p..'g:'..group)
redis.call('ZREM', p..'claims', group)
return 1
`)

// takeoverScript: ARGV prefix, now, deadline. Takes over one group whose
// claimer missed its deadline (crashed between claim and matched);
// returns its id or "". The new claimer re-runs it with the same
// idempotency key, so a session created before the crash is reused.
var takeoverScript = redis.NewScript(`
local p, now, deadline = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local due = redis.call('ZRANGEBYSCORE', p..'claims', '-inf', now, 'LIMIT', 0, 1)
if #due == 0 then return '' end
redis.call('ZADD', p..'claims', deadline, due[1])
return due[1]
`)

// sweepScript: ARGV prefix, now, limit. Ends queued tickets past their
// expiry; returns their ids (their hashes stay for the event).
var sweepScript = redis.NewScript(`
local p, now, limit = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local due = redis.call('ZRANGEBYSCORE', p..'exp', '-inf', now - 1, 'LIMIT', 0, limit)
local out = {}
for _, id in ipairs(due) do
  local tk = p..'t:'..id
  local f = redis.call('HMGET', tk, 'state', 'expires', 'game', 'region', 'player')
  redis.call('ZREM', p..'exp', id)
  if f[1] == 'queued' and tonumber(f[2]) < now then
    redis.call('HSET', tk, 'state', 'expired')
    redis.call('ZREM', p..'q:'..f[3]..':'..f[4], id)
    local pk = p..'p:'..f[3]..':'..f[5]
    if redis.call('GET', pk) == id then redis.call('DEL', pk) end
    out[#out + 1] = id
  end
end
return out
`)

// dropPoolScript: ARGV prefix, pool. Forgets an empty pool (a JOIN adds it
// back in the same script that queues its ticket, so none is lost).
var dropPoolScript = redis.NewScript(`
local p, pool = ARGV[1], ARGV[2]
if redis.call('ZCARD', p..'q:'..pool) == 0 then redis.call('SREM', p..'pools', pool) end
return 0
`)
