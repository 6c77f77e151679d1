import { PRELUDE } from './prelude.js';

// The ways a lease ends other than an ack, and its renewal. Each first checks that the
// lease (id, token) is still current: 0 means it is not (it ran out and was reclaimed,
// or was settled already), and nothing changed.

/**
 * ARGV[4..8] = id, token, delay ms, priority ('' unchanged), counted (1: the delivery
 * used an attempt; 0: given back, as when a consumer shuts down under it).
 * Returns 0 (lease not current), 1 (released), 2 (buried: its attempts were spent).
 */
export const RELEASE = `${PRELUDE}
local id, token, delay, pri, counted = ARGV[4], ARGV[5], tonumber(ARGV[6]), ARGV[7], ARGV[8]
local key = current_lease(id, token)
if not key then return 0 end
local m = member(tonumber(id))
redis.call('ZREM', K_LEASES, m)
if pri ~= '' then redis.call('HSET', key, 'pri', pri) else pri = redis.call('HGET', key, 'pri') end
if counted == '0' then
  redis.call('HINCRBY', key, 'attempts', -1)
  redis.call('HINCRBY', key, 'uncounted', 1)
else
  redis.call('HINCRBY', key, 'releases', 1)
  local job = redis.call('HMGET', key, 'attempts', 'max')
  local max = tonumber(job[2])
  if max > 0 and tonumber(job[1]) >= max then
    to_buried(key, m, tonumber(id), 'released')
    return 2
  end
end
if delay > 0 then
  redis.call('HSET', key, 'delay', delay)
  to_delayed(key, m, NOW + delay)
else
  to_ready(key, m, pri)
  wake(1)
end
return 1
`;

/**
 * One failed attempt. ARGV[4..8] = id, token, the error as JSON, retry delay in ms (-1:
 * do not retry, the error is unrecoverable), dead reason if the attempts are spent
 * ('failed' or 'timeout'), then the error message for the event stream.
 * Returns 0 (lease not current), 1 (will be retried), 2 (buried).
 */
export const FAIL = `${PRELUDE}
local id, token, error, delay, reason, message = ARGV[4], ARGV[5], ARGV[6], tonumber(ARGV[7]), ARGV[8], ARGV[9]
local key = current_lease(id, token)
if not key then return 0 end
local m = member(tonumber(id))
redis.call('ZREM', K_LEASES, m)
note_error(key, error)
redis.call('HINCRBY', K_META, 'failed', 1)
local job = redis.call('HMGET', key, 'attempts', 'max', 'pri')
local attempts, max = tonumber(job[1]), tonumber(job[2])
emit('failed', id, 'error', message, 'attempt', attempts)
if delay < 0 then
  to_buried(key, m, tonumber(id), 'unrecoverable')
  return 2
end
if max > 0 and attempts >= max then
  to_buried(key, m, tonumber(id), reason)
  return 2
end
redis.call('HINCRBY', K_META, 'retried', 1)
emit('retrying', id, 'delay', delay)
if delay > 0 then
  redis.call('HSET', key, 'delay', delay)
  to_delayed(key, m, NOW + delay)
else
  to_ready(key, m, job[3])
  wake(1)
end
return 1
`;

/**
 * ARGV[4..7] = id, token, reason ('' none), priority ('' unchanged).
 * Returns 0 (lease not current) or 1 (buried as 'manual').
 */
export const BURY = `${PRELUDE}
local id, token, reason, pri = ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local key = current_lease(id, token)
if not key then return 0 end
local m = member(tonumber(id))
redis.call('ZREM', K_LEASES, m)
if pri ~= '' then redis.call('HSET', key, 'pri', pri) end
if reason ~= '' then
  local attempts = tonumber(redis.call('HGET', key, 'attempts'))
  note_error(key, cjson.encode({ attempt = attempts, name = 'Buried', message = reason, at = NOW }))
end
to_buried(key, m, tonumber(id), 'manual')
return 1
`;

/**
 * Renews leases. ARGV[4] = n, then (id, token) per lease: each now ends its own lease
 * length from now. Returns one character per lease: '1' renewed, '0' not current.
 */
export const TOUCH = `${PRELUDE}
local n = tonumber(ARGV[4])
local results = {}
for i = 0, n - 1 do
  local id, token = ARGV[5 + i * 2], ARGV[6 + i * 2]
  local key, _, lease = current_lease(id, token)
  if key then
    local deadline = NOW + tonumber(lease)
    redis.call('ZADD', K_LEASES, 'XX', deadline, member(tonumber(id)))
    redis.call('HSET', key, 'deadline', deadline)
    results[#results + 1] = '1'
  else
    results[#results + 1] = '0'
  end
end
return table.concat(results)
`;
