import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLoginCache } from './cache.ts';
import type { Clock } from '../core/index.ts';

function fakeClock(start = 1_700_000_000_000): Clock & { advance(ms: number): void } {
  let t = start;
  return {
    now: () => t,
    advance: (ms) => {
      t += ms;
    },
  };
}

const LOGIN = 'alice@example.com';
const PW = 'correct horse battery';

test('a remembered login+password is a hit for the same mailbox and credential version', () => {
  const cache = createLoginCache({ ttlMs: 60_000, maxEntries: 10, clock: fakeClock() });
  assert.equal(cache.check(LOGIN, PW, 1, 1), false, 'nothing remembered yet');
  cache.remember(LOGIN, PW, 1, 1);
  assert.equal(cache.size(), 1);
  assert.equal(cache.check(LOGIN, PW, 1, 1), true);
  assert.equal(cache.check(LOGIN, PW, 1, 1), true, 'a hit does not consume the entry');
});

test('another password, another login or another mailbox id is a miss', () => {
  const cache = createLoginCache({ ttlMs: 60_000, maxEntries: 10, clock: fakeClock() });
  cache.remember(LOGIN, PW, 1, 1);
  assert.equal(cache.check(LOGIN, 'wrong password', 1, 1), false);
  assert.equal(cache.check(LOGIN, PW + ' ', 1, 1), false);
  assert.equal(cache.check('bob@example.com', PW, 1, 1), false);
  assert.equal(cache.check(LOGIN, PW, 2, 1), false, 'same address re-created as another mailbox');
  // login and password are separated: "ab"+"c" is not "a"+"bc"
  cache.remember('ab', 'c', 5, 1);
  assert.equal(cache.check('a', 'bc', 5, 1), false);
});

test('a changed credential version (password change, suspension) invalidates the entry', () => {
  const cache = createLoginCache({ ttlMs: 60_000, maxEntries: 10, clock: fakeClock() });
  cache.remember(LOGIN, PW, 1, 1);
  assert.equal(cache.check(LOGIN, PW, 1, 2), false);
  // the stale entry is gone: the old version does not come back either
  assert.equal(cache.check(LOGIN, PW, 1, 1), false);
  assert.equal(cache.size(), 0);
});

test('entries expire after the TTL (injected clock)', () => {
  const clock = fakeClock();
  const cache = createLoginCache({ ttlMs: 1000, maxEntries: 10, clock });
  cache.remember(LOGIN, PW, 1, 1);
  clock.advance(999);
  assert.equal(cache.check(LOGIN, PW, 1, 1), true, 'still fresh 1 ms before the TTL');
  clock.advance(1);
  assert.equal(cache.check(LOGIN, PW, 1, 1), false, 'expired at the TTL');
  assert.equal(cache.size(), 0);
  // remembering again starts a new TTL
  cache.remember(LOGIN, PW, 1, 1);
  clock.advance(500);
  assert.equal(cache.check(LOGIN, PW, 1, 1), true);
});

test('at most maxEntries are kept; the oldest is evicted first', () => {
  const cache = createLoginCache({ ttlMs: 60_000, maxEntries: 3, clock: fakeClock() });
  for (let i = 1; i <= 5; i++) cache.remember(`u${i}@example.com`, PW, i, 1);
  assert.equal(cache.size(), 3);
  assert.equal(cache.check('u1@example.com', PW, 1, 1), false);
  assert.equal(cache.check('u2@example.com', PW, 2, 1), false);
  for (let i = 3; i <= 5; i++) assert.equal(cache.check(`u${i}@example.com`, PW, i, 1), true, `u${i} kept`);
  // remembering an existing key again refreshes it instead of adding a duplicate
  cache.remember('u3@example.com', PW, 3, 1);
  assert.equal(cache.size(), 3);
  cache.remember('u6@example.com', PW, 6, 1);
  assert.equal(cache.check('u3@example.com', PW, 3, 1), true, 'u3 was refreshed, u4 is now the oldest');
  assert.equal(cache.check('u4@example.com', PW, 4, 1), false);
});

test('a TTL of 0 (or maxEntries 0) turns the cache off', () => {
  for (const opts of [
    { ttlMs: 0, maxEntries: 10 },
    { ttlMs: 60_000, maxEntries: 0 },
  ]) {
    const cache = createLoginCache({ ...opts, clock: fakeClock() });
    cache.remember(LOGIN, PW, 1, 1);
    assert.equal(cache.size(), 0, JSON.stringify(opts));
    assert.equal(cache.check(LOGIN, PW, 1, 1), false, JSON.stringify(opts));
  }
});

test('two caches do not share keys (per-process secret)', () => {
  const clock = fakeClock();
  const a = createLoginCache({ ttlMs: 60_000, maxEntries: 10, clock });
  const b = createLoginCache({ ttlMs: 60_000, maxEntries: 10, clock });
  a.remember(LOGIN, PW, 1, 1);
  assert.equal(b.check(LOGIN, PW, 1, 1), false);
});
