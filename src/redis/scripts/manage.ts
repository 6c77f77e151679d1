import { PRELUDE } from './prelude.js';

// Operator moves: kick, remove, redrive, purge, pause. ARGV[4] names the operation.

/**
 * ARGV[4] = operation, then its arguments:
 * - 'kick', bound: moves up to `bound` buried jobs (oldest first) to ready, or when none
 *   is buried, delayed ones (soonest first). Returns how many.
 * - 'kickjob', id: one buried or delayed job to ready. Returns 1, or 0 (other state).
 * - 'remove', id: deletes a ready, delayed or buried job. Returns 1, or 0.
 * - 'redrive' / 'purge', n, ids...: the given ids that are buried; with n = 0, up to
 *   1000 of the oldest (the caller repeats until 0). Returns how many.
 * - 'pause' / 'resume': stops / restarts the hand-out of jobs to every consumer.
 */
export const MANAGE = `${PRELUDE}
local op = ARGV[4]

-- A dead letter back to work, with a fresh attempt budget (as SQS redrive does).
local function redrive(key, m)
  redis.call('ZREM', K_BURIED, m)
  local job = redis.call('HMGET', key, 'attempts', 'uncounted', 'pri')
  redis.call('HSET', key, 'attempts', 0, 'uncounted', (tonumber(job[1]) or 0) + (tonumber(job[2]) or 0))
  redis.call('HDEL', key, 'reason', 'finished')
  redis.call('HINCRBY', key, 'kicks', 1)
  to_ready(key, m, job[3])
  emit('kicked', tonumber(m))
end

local function undelay(key, m)
  redis.call('ZREM', K_DELAYED, m)
  redis.call('HINCRBY', key, 'kicks', 1)
  to_ready(key, m, redis.call('HGET', key, 'pri'))
  emit('kicked', tonumber(m))
end

if op == 'kick' then
  local bound = tonumber(ARGV[5])
  local moved = 0
  if redis.call('ZCARD', K_BURIED) > 0 then
    for _, m in ipairs(redis.call('ZRANGE', K_BURIED, 0, bound - 1)) do
      redrive(JOB .. tonumber(m), m)
      moved = moved + 1
    end
  else
    for _, m in ipairs(redis.call('ZRANGE', K_DELAYED, 0, bound - 1)) do
      undelay(JOB .. tonumber(m), m)
      moved = moved + 1
    end
  end
  wake(moved)
  return moved
end

if op == 'kickjob' or op == 'remove' then
  local id = tonumber(ARGV[5])
  local key, m = JOB .. id, member(id)
  local state = redis.call('HGET', key, 'state')
  if op == 'kickjob' then
    if state == 'buried' then redrive(key, m)
    elseif state == 'delayed' then undelay(key, m)
    else return 0 end
    wake(1)
    return 1
  end
  if not state or state == 'reserved' then return 0 end
  unlink(key, m)
  delete_job(key, id)
  emit('removed', id)
  return 1
end

if op == 'redrive' or op == 'purge' then
  local n = tonumber(ARGV[5])
  local targets = {}
  if n == 0 then
    targets = redis.call('ZRANGE', K_BURIED, 0, 999)
  else
    for i = 1, n do targets[i] = member(tonumber(ARGV[5 + i])) end
  end
  local count = 0
  for _, m in ipairs(targets) do
    if redis.call('ZSCORE', K_BURIED, m) then
      local id = tonumber(m)
      local key = JOB .. id
      if op == 'redrive' then
        redrive(key, m)
      else
        redis.call('ZREM', K_BURIED, m)
        delete_job(key, id)
        emit('removed', id)
      end
      count = count + 1
    end
  end
  if op == 'redrive' then wake(count) end
  return count
end

if op == 'pause' then
  redis.call('HSET', K_META, 'paused', 1)
  emit('paused', 0)
  return 1
end

if op == 'resume' then
  if redis.call('HDEL', K_META, 'paused') == 1 then
    wake(redis.call('ZCARD', K_READY))
    emit('resumed', 0)
  end
  return 1
end

return redis.error_reply('unknown operation ' .. tostring(op))
`;
