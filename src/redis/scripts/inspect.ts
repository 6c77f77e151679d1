import { PRELUDE } from './prelude.js';

/**
 * Read-only views. ARGV[4] = what:
 * - 'stats': { ready, urgent (priority < 1024), delayed, reserved, buried, paused, then
 *   the counters added, completed, failed, retried, dead, leaseTimeouts }
 * - 'peek', id / 'peekready' / 'peekdelayed' / 'peekburied': the job's fields as a flat
 *   field/value list (empty: none)
 * - 'buried', offset, limit: the dead letters in that range, oldest first, each a flat
 *   field/value list with its id
 * - 'done', limit: the retained completed jobs, newest first (JSON each)
 */
export const INSPECT = `${PRELUDE}
local what = ARGV[4]

local function fields(id)
  if not id then return {} end
  local all = redis.call('HGETALL', JOB .. id)
  if #all == 0 then return {} end
  all[#all + 1] = 'id'
  all[#all + 1] = tostring(id)
  return all
end

local function first(set)
  local m = redis.call('ZRANGE', set, 0, 0)[1]
  return m and tonumber(m)
end

if what == 'stats' then
  local counters = redis.call('HMGET', K_META, 'added', 'completed', 'failed', 'retried', 'dead', 'leaseTimeouts')
  local out = { redis.call('ZCARD', K_READY), redis.call('ZCOUNT', K_READY, '-inf', '(1024'), redis.call('ZCARD', K_DELAYED),
    redis.call('ZCARD', K_LEASES), redis.call('ZCARD', K_BURIED), redis.call('HEXISTS', K_META, 'paused') }
  for i = 1, 6 do out[#out + 1] = tonumber(counters[i]) or 0 end
  return out
end
if what == 'peek' then return fields(tonumber(ARGV[5])) end
if what == 'peekready' then return fields(first(K_READY)) end
if what == 'peekdelayed' then return fields(first(K_DELAYED)) end
if what == 'peekburied' then return fields(first(K_BURIED)) end
if what == 'buried' then
  local offset, limit = tonumber(ARGV[5]), tonumber(ARGV[6])
  local out = {}
  for _, m in ipairs(redis.call('ZRANGE', K_BURIED, offset, offset + limit - 1)) do
    out[#out + 1] = fields(tonumber(m))
  end
  return out
end
if what == 'done' then return redis.call('LRANGE', K_DONE, 0, tonumber(ARGV[5]) - 1) end
return redis.error_reply('unknown view ' .. tostring(what))
`;
