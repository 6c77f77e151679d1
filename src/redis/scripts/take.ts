import { PRELUDE } from './prelude.js';

/**
 * Settles completed leases and reserves the next jobs, in one round trip (a consumer
 * acks what finished and takes as many as it has free slots).
 *
 * ARGV[4] = number of acks, then (id, token, result JSON or '') per ack; then the number
 * of jobs wanted and the lease length override in ms (0: each job's own ttr).
 *
 * Before taking, due delayed jobs become ready and expired leases are reclaimed: each
 * counts as a failed attempt (retried at once, or buried as 'lease-expired' once the
 * attempts are spent).
 *
 * Returns { ack results ('1' acked, '0' lease no longer current, one character per ack),
 * paused (0/1), ms until the next due time (-1: none, or not asked: the call got every
 * job it wanted), then per job: id, token, attempts made, priority, lease length, data }.
 */
export const TAKE = `${PRELUDE}
local acks = tonumber(ARGV[4])
local results = {}
local completed = {}
local finished_members, finished_keys, seen = {}, {}, {}
for i = 0, acks - 1 do
  local b = 5 + i * 3
  local id, token = ARGV[b], ARGV[b + 1]
  local key, dedupe = false, false
  -- The deletes come after the loop: the same lease twice in one call acks once.
  if not seen[id] then key, dedupe = current_lease(id, token) end
  if key then
    seen[id] = true
    if KEEP_DONE > 0 then
      local done = redis.call('HMGET', key, 'data', 'attempts', 'created')
      redis.call('LPUSH', K_DONE, cjson.encode({ id = tonumber(id), data = done[1], attempts = tonumber(done[2]),
        created = tonumber(done[3]), finished = NOW, result = ARGV[b + 2] }))
      redis.call('LTRIM', K_DONE, 0, KEEP_DONE - 1)
    end
    forget_dedupe(dedupe, id)
    finished_members[#finished_members + 1] = member(id)
    finished_keys[#finished_keys + 1] = key
    completed[#completed + 1] = id
    results[#results + 1] = '1'
  else
    results[#results + 1] = '0'
  end
end
if #completed > 0 then
  call_in_slices('ZREM', K_LEASES, finished_members)
  call_in_slices('DEL', nil, finished_keys)
  redis.call('HINCRBY', K_META, 'completed', #completed)
end

local b = 5 + acks * 3
local want, lease_override = tonumber(ARGV[b]), tonumber(ARGV[b + 1])
local out = { table.concat(results), 0, -1 }

-- Due delayed jobs become ready (a bounded batch per call; the rest on the next call).
local due = redis.call('ZRANGEBYSCORE', K_DELAYED, '-inf', NOW, 'LIMIT', 0, 1000)
for _, m in ipairs(due) do
  local key = JOB .. tonumber(m)
  redis.call('ZREM', K_DELAYED, m)
  to_ready(key, m, redis.call('HGET', key, 'pri'))
end

-- Leases past their deadline: the holder died or hung. One failed attempt each.
local expired = redis.call('ZRANGEBYSCORE', K_LEASES, '-inf', NOW, 'LIMIT', 0, 1000)
for _, m in ipairs(expired) do
  local id = tonumber(m)
  local key = JOB .. id
  redis.call('ZREM', K_LEASES, m)
  local job = redis.call('HMGET', key, 'attempts', 'max', 'pri', 'lease')
  local attempts, max = tonumber(job[1]), tonumber(job[2])
  redis.call('HINCRBY', key, 'timeouts', 1)
  redis.call('HINCRBY', K_META, 'leaseTimeouts', 1)
  redis.call('HINCRBY', K_META, 'failed', 1)
  local message = 'job ' .. id .. ': lease of ' .. job[4] .. ' ms expired (attempt ' .. attempts .. ')'
  note_error(key, cjson.encode({ attempt = attempts, name = 'LeaseExpiredError', message = message,
    code = 'DOCKET_LEASE_EXPIRED', at = NOW }))
  emit('failed', id, 'error', message, 'attempt', attempts)
  if max > 0 and attempts >= max then
    to_buried(key, m, id, 'lease-expired')
  else
    redis.call('HINCRBY', K_META, 'retried', 1)
    to_ready(key, m, job[3])
    emit('retrying', id, 'delay', 0)
  end
end

if redis.call('HEXISTS', K_META, 'paused') == 1 then
  -- The acks above happened, paused or not: their events go out with them.
  emit_many('completed', completed)
  redis.call('DEL', K_WAKE)
  out[2] = 1
  out[3] = next_wait()
  return out
end

local taken = 0
local active = {}
local leases = {}
while taken < want do
  local popped = redis.call('ZPOPMIN', K_READY, want - taken)
  if #popped == 0 then break end
  for i = 1, #popped, 2 do
    local m = popped[i]
    local id = tonumber(m)
    local key = JOB .. id
    -- Each field asked for costs a lookup: the priority is the score ZPOPMIN gave, and the
    -- times a ttl needs are read only for a job that has one.
    local job = redis.call('HMGET', key, 'data', 'ttr', 'attempts', 'reserves', 'ttl')
    local ttl = tonumber(job[5])
    local expired = false
    if ttl then
      local times = redis.call('HMGET', key, 'created', 'delay', 'started')
      expired = not times[3] and NOW - tonumber(times[1]) - (tonumber(times[2]) or 0) > ttl
    end
    if expired then
      -- Waited past its ttl before a first start: it is dead, not run late.
      to_buried(key, m, id, 'expired')
    else
      local attempts, token = (tonumber(job[3]) or 0) + 1, (tonumber(job[4]) or 0) + 1
      local lease = lease_override > 0 and lease_override or tonumber(job[2])
      local deadline = str(NOW + lease)
      redis.call('HSET', key, 'state', 'reserved', 'attempts', str(attempts), 'reserves', str(token), 'started', NOW_S, 'lease', str(lease), 'deadline', deadline)
      leases[#leases + 1] = deadline
      leases[#leases + 1] = m
      active[#active + 1] = id
      out[#out + 1] = id
      out[#out + 1] = token
      out[#out + 1] = attempts
      out[#out + 1] = tonumber(popped[i + 1])
      out[#out + 1] = lease
      out[#out + 1] = job[1]
      taken = taken + 1
    end
  end
end
-- Newest id first: a small lease set is a listpack kept sorted, where equal deadlines order
-- by member, so each member added in ascending order would be placed after a scan of all
-- the others; in descending order each one goes in front.
local reversed = {}
for i = #leases - 1, 1, -2 do
  reversed[#reversed + 1] = leases[i]
  reversed[#reversed + 1] = leases[i + 1]
end
call_in_slices('ZADD', K_LEASES, reversed)
emit_many('completed', completed, 'active', active)
-- Only a consumer that got less than it asked for waits, and needs the next due time;
-- it emptied the ready set, and stale wake tokens would only make idle consumers spin.
if taken < want then
  redis.call('DEL', K_WAKE)
  out[3] = next_wait()
end
return out
`;
