import { test } from 'node:test';
import assert from 'node:assert/strict';
import { windowEnd, windowStart } from './windows.ts';

const at = (s: string) => Date.parse(s);

test('fixed UTC windows: start and end, exact at the edge', () => {
  const t = at('2026-02-28T23:59:59.999Z');
  assert.equal(windowStart('minute', t), at('2026-02-28T23:59:00Z'));
  assert.equal(windowEnd('minute', t), at('2026-03-01T00:00:00Z'));
  assert.equal(windowStart('hour', t), at('2026-02-28T23:00:00Z'));
  assert.equal(windowStart('day', t), at('2026-02-28T00:00:00Z'));
  assert.equal(windowEnd('day', t), at('2026-03-01T00:00:00Z'));
  assert.equal(windowStart('month', t), at('2026-02-01T00:00:00Z'));
  assert.equal(windowEnd('month', t), at('2026-03-01T00:00:00Z'));
  const edge = at('2026-03-01T00:00:00Z');
  for (const w of ['minute', 'hour', 'day', 'month'] as const)
    assert.equal(windowStart(w, edge), edge, `${w} starts at its first millisecond`);
  assert.equal(windowEnd('month', at('2026-12-15T10:00:00Z')), at('2027-01-01T00:00:00Z'));
});
