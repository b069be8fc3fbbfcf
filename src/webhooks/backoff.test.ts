/** Webhook retry timing: the schedule with jitter, its last step repeating, and Retry-After. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffMs, MAX_RETRY_AFTER_MS, retryAfterMs } from './backoff.ts';

const SCHEDULE = [30, 120, 600, 3600, 21600];

test('the nth failure waits the nth step of the schedule, the last one repeating, with jitter of +-20%', () => {
  const mid = () => 0.5;
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6, 11].map((n) => backoffMs(n, SCHEDULE, mid)),
    [30_000, 120_000, 600_000, 3_600_000, 21_600_000, 21_600_000, 21_600_000],
  );
  assert.equal(
    backoffMs(1, SCHEDULE, () => 0),
    24_000,
  );
  assert.equal(
    backoffMs(1, SCHEDULE, () => 0.999_999),
    36_000,
  );
  assert.equal(backoffMs(0, SCHEDULE, mid), 30_000, 'never before the first step');
  for (let i = 0; i < 200; i++) {
    const w = backoffMs(2, SCHEDULE);
    assert.ok(w >= 96_000 && w <= 144_000, String(w));
  }
});

test('Retry-After in seconds or as an HTTP date, capped at a day; absent or unreadable is null', () => {
  const now = Date.parse('2025-01-01T00:00:00Z');
  assert.equal(retryAfterMs('120', now), 120_000);
  assert.equal(retryAfterMs(' 0 ', now), 0);
  assert.equal(retryAfterMs('Wed, 01 Jan 2025 00:05:00 GMT', now), 300_000);
  assert.equal(retryAfterMs('Tue, 31 Dec 2024 23:00:00 GMT', now), 0, 'a date in the past: now');
  assert.equal(retryAfterMs('999999999', now), MAX_RETRY_AFTER_MS);
  assert.equal(retryAfterMs(null, now), null);
  assert.equal(retryAfterMs('', now), null);
  assert.equal(retryAfterMs('soon', now), null);
  assert.equal(retryAfterMs('-5', now), null);
});
