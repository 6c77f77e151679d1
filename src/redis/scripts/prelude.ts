// The Lua every script starts with: the key layout, the clock, and the moves between
// states that several scripts share. A script is this prelude plus its own body; each
// runs atomically on the server (no other command runs in between).
//
// Layout (see keys.ts): a job is a hash `<job prefix><id>`; the states are sorted sets
// holding the job's member, its id zero-padded to 16 digits:
//   ready   score = priority (u32, exact in a double); equal scores order by member,
//           i.e. by id, i.e. by age: FIFO among equal priorities, also after a release
//           or a retry (a job keeps its id, so it goes back to its place by age)
//   delayed score = due time (ms, server clock)
//   leases  score = lease deadline (ms, server clock)
//   buried  score = bury sequence (oldest dead letter first)
// meta (hash): id counter, bury sequence, counters, paused flag. dedupe (hash): dedupe
// id -> job id. events: capped stream. wake: list idle consumers block on. done: the
// last completed jobs, when retention is on.
//
// Cost: every redis.call is a whole command (lookup, checks, statistics, and its reply
// turned into Lua values); for a queue's small commands that is most of a script's time.
// So the hot paths (add, take) make one call per job where they must and batch the rest
// (one ZADD, ZREM or DEL for every job of the call); a job hash holds its lease
// deadline next to its token, so checking a lease is one HMGET.

export const PRELUDE = `
local K_READY, K_DELAYED, K_LEASES, K_BURIED, K_META, K_DEDUPE, K_EVENTS, K_WAKE, K_DONE =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9]
local JOB = ARGV[1]
local EVENTS_MAX = tonumber(ARGV[2])
local KEEP_DONE = tonumber(ARGV[3])
-- Tokens in the wake list at most: enough to wake every idle consumer process of a
-- burst; more would only make idle consumers spin through stale ones.
local WAKE_CAP = 256

-- The server's clock, so leases and delays mean the same on every machine.
local NOW
do
  local t = redis.call('TIME')
  NOW = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- A number passed to redis.call is turned into a string with sprintf, which costs about
-- as much as a small field's share of the command: the hot paths pass strings, each made
-- once per call (a call's jobs share their few distinct attempt counts and lease lengths).
local NOW_S = tostring(NOW)
local STRINGS = {}
local function str(n)
  local s = STRINGS[n]
  if not s then
    s = tostring(n)
    STRINGS[n] = s
  end
  return s
end

-- Zeros that pad an id of n digits to 16 (string.format costs more than a concat), made
-- on first use: building all 16 would cost every call more than its members do.
local ZEROS = '0000000000000000'
local PAD = {}

-- A job's member in the state sets, from its id (a number, or the digits as a string).
local function member(id)
  local digits = id
  if type(id) == 'number' then
    -- tostring writes whole numbers up to 14 digits as such, larger ones with an exponent.
    digits = id < 1e14 and tostring(id) or string.format('%.0f', id)
  end
  local n = #digits
  local pad = PAD[n]
  if not pad then
    pad = string.sub(ZEROS, n + 1)
    PAD[n] = pad
  end
  return pad .. digits
end

local function emit(event, id, ...)
  if EVENTS_MAX > 0 then
    redis.call('XADD', K_EVENTS, 'MAXLEN', '~', EVENTS_MAX, '*', 'event', event, 'id', id, ...)
  end
end

-- One stream entry for the jobs of the hot events (added, active, completed) of one
-- script call: no 'event' field; each field is an event, its value the ids, in order.
local function emit_many(event, ids, event2, ids2)
  if EVENTS_MAX == 0 then return end
  local fields = {}
  if #ids > 0 then fields[1] = event; fields[2] = table.concat(ids, ',') end
  if event2 and #ids2 > 0 then fields[#fields + 1] = event2; fields[#fields + 1] = table.concat(ids2, ',') end
  if #fields > 0 then redis.call('XADD', K_EVENTS, 'MAXLEN', '~', EVENTS_MAX, '*', unpack(fields)) end
end

-- Runs "cmd key values..." over the list in slices: unpack has a limit of a few
-- thousand values. With key nil, the values are the keys (DEL).
local function call_in_slices(cmd, key, values)
  for at = 1, #values, 1000 do
    local last = math.min(at + 999, #values)
    if key then redis.call(cmd, key, unpack(values, at, last))
    else redis.call(cmd, unpack(values, at, last)) end
  end
end

-- Lets up to n idle consumers know there may be work.
local function wake(n)
  if n <= 0 then return end
  local room = WAKE_CAP - redis.call('LLEN', K_WAKE)
  if room <= 0 then return end
  if n > room then n = room end
  local tokens = {}
  for i = 1, n do tokens[i] = '1' end
  redis.call('RPUSH', K_WAKE, unpack(tokens))
end

-- Appends one attempt's error (a JSON object) to the job's list of errors.
local function note_error(key, json)
  local list = redis.call('HGET', key, 'errors')
  if list then
    redis.call('HSET', key, 'errors', string.sub(list, 1, -2) .. ',' .. json .. ']')
  else
    redis.call('HSET', key, 'errors', '[' .. json .. ']')
  end
end

local function to_ready(key, m, pri)
  redis.call('ZADD', K_READY, pri, m)
  redis.call('HSET', key, 'state', 'ready')
end

-- Puts a job whose state field says 'delayed' already in the delayed set.
local function schedule(m, due)
  redis.call('ZADD', K_DELAYED, due, m)
  -- A new soonest due time shortens the wait of idle consumers: wake one to re-time.
  local first = redis.call('ZRANGE', K_DELAYED, 0, 0)
  if first[1] == m then wake(1) end
end

local function to_delayed(key, m, due)
  redis.call('HSET', key, 'state', 'delayed')
  schedule(m, due)
end

local function to_buried(key, m, id, reason)
  redis.call('ZADD', K_BURIED, redis.call('HINCRBY', K_META, 'buryseq', 1), m)
  redis.call('HSET', key, 'state', 'buried', 'reason', reason, 'finished', NOW)
  redis.call('HINCRBY', key, 'buries', 1)
  redis.call('HINCRBY', K_META, 'dead', 1)
  emit('dead', id, 'reason', reason)
end

-- Drops a dedupe entry when it is still this job's (a later job may have the id now).
local function forget_dedupe(dedupe, id)
  if dedupe and redis.call('HGET', K_DEDUPE, dedupe) == tostring(id) then
    redis.call('HDEL', K_DEDUPE, dedupe)
  end
end

-- Deletes the job hash and its dedupe entry.
local function delete_job(key, id)
  forget_dedupe(redis.call('HGET', key, 'dedupe'), id)
  redis.call('DEL', key)
end

-- Removes a job from whichever state set holds it. Returns its state, or false.
local function unlink(key, m)
  local state = redis.call('HGET', key, 'state')
  if state == 'ready' then redis.call('ZREM', K_READY, m)
  elseif state == 'delayed' then redis.call('ZREM', K_DELAYED, m)
  elseif state == 'reserved' then redis.call('ZREM', K_LEASES, m)
  elseif state == 'buried' then redis.call('ZREM', K_BURIED, m)
  end
  return state
end

-- The lease named by (id, token) if it is still current: the job's key, its dedupe id
-- (or false) and its lease length; else false. The deadline field mirrors the job's
-- score in the leases set (both are written together).
local function current_lease(id, token)
  local key = JOB .. id
  local got = redis.call('HMGET', key, 'state', 'reserves', 'deadline', 'dedupe', 'lease')
  if got[1] ~= 'reserved' or got[2] ~= token then return false end
  -- Past its deadline the lease is over, even before a reserve reclaims the job.
  if tonumber(got[3]) < NOW then return false end
  return key, got[4], got[5]
end

-- Ms until the next due delayed job or lease deadline: -1 when there is none.
local function next_wait()
  local wait = false
  local d = redis.call('ZRANGE', K_DELAYED, 0, 0, 'WITHSCORES')
  if d[2] then wait = tonumber(d[2]) - NOW end
  local l = redis.call('ZRANGE', K_LEASES, 0, 0, 'WITHSCORES')
  if l[2] then
    local left = tonumber(l[2]) - NOW
    if not wait or left < wait then wait = left end
  end
  if not wait then return -1 end
  if wait < 1 then return 1 end
  return wait
end
`;
