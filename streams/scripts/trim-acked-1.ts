/**
 * Trims a stream shard up to the oldest entry that some consumer group has not acknowledged,
 * atomically: no group can be created, read or ack between the computation and the XTRIM.
 *
 * For each group the first entry it still needs is the smaller of the entry after its
 * last-delivered-id (what it has not been given yet) and its smallest pending ID (what it was
 * given but has not acked). The safe MINID is the smallest of those over every group: every
 * entry before it was delivered to and acked by every group. A stream without groups is never
 * trimmed: no reader has acknowledged anything. IDs are compared and incremented as decimal
 * strings, since a sequence can exceed what a Lua number holds exactly.
 *
 * KEYS[1] stream shard
 * ARGV[1] cap: the MINID may not exceed this ID ('' for no cap); the trim's archive ends before it
 * ARGV[2] '1' to trim, '0' to compute only
 *
 * Output: { code, minId, trimmed } with code 0 (computed, trimmed when asked), 1 (no such stream),
 * 2 (the stream has no consumer group); trimmed the number of entries XTRIM removed.
 */
export const trimAcked1 = `
if redis.call('EXISTS', KEYS[1]) == 0 then
  return { 1, '', 0 }
end
local groups = redis.call('XINFO', 'GROUPS', KEYS[1])
if #groups == 0 then
  return { 2, '', 0 }
end
local function split(id)
  return string.match(id, '^(%d+)-(%d+)$')
end
local function numless(a, b)
  if #a ~= #b then return #a < #b end
  return a < b
end
local function less(a, b)
  local am, as = split(a)
  local bm, bs = split(b)
  if am ~= bm then return numless(am, bm) end
  return numless(as, bs)
end
local function inc(s)
  local d = {}
  for i = 1, #s do d[i] = string.byte(s, i) - 48 end
  local i = #d
  while i >= 1 do
    if d[i] < 9 then
      d[i] = d[i] + 1
      break
    end
    d[i] = 0
    i = i - 1
  end
  local out = table.concat(d)
  if i == 0 then out = '1' .. out end
  return out
end
local function succ(id)
  local ms, seq = split(id)
  if seq == '18446744073709551615' then return inc(ms) .. '-0' end
  return ms .. '-' .. inc(seq)
end
local min = nil
for _, g in ipairs(groups) do
  local info = {}
  for i = 1, #g, 2 do info[g[i]] = g[i + 1] end
  local first = succ(info['last-delivered-id'])
  if tonumber(info['pending']) > 0 then
    local summary = redis.call('XPENDING', KEYS[1], info['name'])
    if summary[2] and less(summary[2], first) then first = summary[2] end
  end
  if min == nil or less(first, min) then min = first end
end
if ARGV[1] ~= '' and less(ARGV[1], min) then min = ARGV[1] end
local trimmed = 0
if ARGV[2] == '1' then
  trimmed = redis.call('XTRIM', KEYS[1], 'MINID', '=', min)
end
return { 0, min, trimmed }
`;
