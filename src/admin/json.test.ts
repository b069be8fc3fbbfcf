/** The API's JSON conventions as the CLI's --json applies them: ISO 8601 times, null for absent values. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { apiJson } from './json.ts';

test('times under a time key become ISO 8601 at any depth; other numbers and strings stay', () => {
  const t = Date.UTC(2026, 11, 7, 8, 30, 0);
  assert.deepEqual(
    apiJson({
      createdAt: t,
      activatedAt: null,
      retiringAt: undefined,
      at: t,
      bannedUntil: t,
      heldSince: t,
      windowStart: t,
      oldest: t,
      max: 100,
      port: 587,
      selector: 'r20261207',
      recipients: [{ address: 'a@b.example', nextAttemptAt: t, attempts: 2 }],
      before: { status: 'active', updatedAt: t },
    }),
    {
      createdAt: '2026-12-07T08:30:00.000Z',
      activatedAt: null,
      retiringAt: null,
      at: '2026-12-07T08:30:00.000Z',
      bannedUntil: '2026-12-07T08:30:00.000Z',
      heldSince: '2026-12-07T08:30:00.000Z',
      windowStart: '2026-12-07T08:30:00.000Z',
      oldest: '2026-12-07T08:30:00.000Z',
      max: 100,
      port: 587,
      selector: 'r20261207',
      recipients: [{ address: 'a@b.example', nextAttemptAt: '2026-12-07T08:30:00.000Z', attempts: 2 }],
      before: { status: 'active', updatedAt: '2026-12-07T08:30:00.000Z' },
    },
  );
  assert.equal(apiJson('2026-12-07T08:30:00.000Z', 'createdAt'), '2026-12-07T08:30:00.000Z', 'an ISO time stays as it is');
  assert.equal(apiJson(undefined), null);
  assert.deepEqual(apiJson([undefined, 1]), [null, 1]);
});
