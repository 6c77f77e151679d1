import { PRELUDE } from './prelude.js';

/**
 * Adds jobs. ARGV[4] = n, then 7 fields per job: data, priority, delay (ms), ttr (ms),
 * max attempts (0: unlimited), ttl (ms, 0: none), dedupe id ('' none).
 * Returns, per job, its id and 1 when a live job with the same dedupe id was returned
 * instead (0 when added).
 */
export const ADD = `${PRELUDE}
local n = tonumber(ARGV[4])
local out = {}
local made, ready = 0, 0
local added = {}
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
    local id = redis.call('HINCRBY', K_META, 'ids', 1)
    local key, m = JOB .. id, member(id)
    local fields = { 'data', data, 'pri', pri, 'max', max, 'ttr', ttr, 'created', NOW, 'attempts', 0, 'reserves', 0 }
    if ttl ~= '0' then fields[#fields + 1] = 'ttl'; fields[#fields + 1] = ttl end
    if dedupe ~= '' then
      fields[#fields + 1] = 'dedupe'; fields[#fields + 1] = dedupe
      redis.call('HSET', K_DEDUPE, dedupe, id)
    end
    if delay > 0 then
      fields[#fields + 1] = 'delay'; fields[#fields + 1] = delay
      redis.call('HSET', key, unpack(fields))
      to_delayed(key, m, NOW + delay)
    else
      fields[#fields + 1] = 'state'; fields[#fields + 1] = 'ready'
      redis.call('HSET', key, unpack(fields))
      redis.call('ZADD', K_READY, pri, m)
      ready = ready + 1
    end
    made = made + 1
    added[#added + 1] = id
    out[#out + 1] = id
    out[#out + 1] = 0
  end
end
if made > 0 then redis.call('HINCRBY', K_META, 'added', made) end
emit_many('added', added)
wake(ready)
return out
`;
