import { PRELUDE } from './prelude.js';

/**
 * Adds jobs. ARGV[4] = n, then 7 fields per job: data, priority, delay (ms), ttr (ms),
 * max attempts (0: unlimited), ttl (ms, 0: none), dedupe id ('' none).
 * Returns, per job, its id and 1 when a live job with the same dedupe id was returned
 * instead (0 when added).
 *
 * One HSET per job; the ids, the ready set and the counters take one call for the whole
 * batch. A new job has no attempts or reservations yet: those fields are absent (0).
 */
export const ADD = `${PRELUDE}
local n = tonumber(ARGV[4])
local out = {}
local last_id = tonumber(redis.call('HGET', K_META, 'ids')) or 0
local made = 0
local added = {}
local ready = {}
for i = 0, n - 1 do
  local b = 5 + i * 7
  local data, pri, delay, ttr, max, ttl, dedupe = ARGV[b], ARGV[b + 1], tonumber(ARGV[b + 2]), ARGV[b + 3], ARGV[b + 4], ARGV[b + 5], ARGV[b + 6]
  local existing = false
  if dedupe ~= '' then
    existing = redis.call('HGET', K_DEDUPE, dedupe)
    if existing and redis.call('EXISTS', JOB .. existing) == 0 then existing = false end
  end
  if existing then
    out[#out + 1] = tonumber(existing)
    out[#out + 1] = 1
  else
    made = made + 1
    local id = last_id + made
    local key, m = JOB .. id, member(id)
    local fields = { 'data', data, 'pri', pri, 'max', max, 'ttr', ttr, 'created', NOW_S, 'state', delay > 0 and 'delayed' or 'ready' }
    if ttl ~= '0' then fields[#fields + 1] = 'ttl'; fields[#fields + 1] = ttl end
    if dedupe ~= '' then
      fields[#fields + 1] = 'dedupe'; fields[#fields + 1] = dedupe
      redis.call('HSET', K_DEDUPE, dedupe, id)
    end
    if delay > 0 then
      fields[#fields + 1] = 'delay'; fields[#fields + 1] = delay
      redis.call('HSET', key, unpack(fields))
      schedule(m, NOW + delay)
    else
      redis.call('HSET', key, unpack(fields))
      ready[#ready + 1] = pri
      ready[#ready + 1] = m
    end
    added[#added + 1] = id
    out[#out + 1] = id
    out[#out + 1] = 0
  end
end
if made > 0 then
  redis.call('HSET', K_META, 'ids', last_id + made)
  redis.call('HINCRBY', K_META, 'added', made)
end
call_in_slices('ZADD', K_READY, ready)
emit_many('added', added)
wake(#ready / 2)
return out
`;
