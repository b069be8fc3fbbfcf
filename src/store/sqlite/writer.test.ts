import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createSqliteWriter } from './writer.ts';
import { openDatabase } from './db.ts';
import { message, T0 } from '../conformance/harness.ts';

const tmpFile = () => path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'postern-writer-')), 'queue.sqlite');

test('requests that wait together share one commit; one that fails is undone alone, the others commit', async () => {
  const file = tmpFile();
  const writer = createSqliteWriter(file);
  try {
    // posted before the thread is up, so all five wait in its port and run as one group
    const results = await Promise.allSettled([
      writer.enqueue([message('A')]),
      writer.enqueue([message('A')]), // the same id again: its insert fails
      writer.enqueue([message('B')]),
      writer.claim({ owner: 'n1', now: T0, leaseMs: 60_000, limit: 10 }),
      writer.releaseLeases('nobody', T0),
    ]);
    assert.equal(results[0].status, 'fulfilled');
    assert.equal(results[1].status, 'rejected');
    assert.match(String((results[1] as PromiseRejectedResult).reason.code), /^SQLITE_CONSTRAINT/);
    assert.equal(results[2].status, 'fulfilled');
    // the claim ran after both enqueues, in the same transaction: it sees A and B, and nothing of the failed one
    const jobs = (results[3] as PromiseFulfilledResult<Awaited<ReturnType<typeof writer.claim>>>).value;
    assert.deepEqual([...new Set(jobs.map((j) => j.message.id))].sort(), ['A', 'B']);
    assert.deepEqual(results[4], { status: 'fulfilled', value: 0 });
  } finally {
    await writer.close();
  }
  // what another connection sees: both messages, each with its two recipients leased to n1
  const db = openDatabase(file);
  try {
    assert.deepEqual(db.prepare('SELECT id FROM messages ORDER BY id').pluck().all(), ['A', 'B']);
    assert.deepEqual(db.prepare('SELECT DISTINCT lease_owner FROM recipients').pluck().all(), ['n1']);
    assert.equal(db.prepare('SELECT COUNT(*) FROM recipients').pluck().get(), 4);
  } finally {
    db.close();
  }
});

test('a close that waits behind other requests answers them first', async () => {
  const file = tmpFile();
  const writer = createSqliteWriter(file);
  const queued = writer.enqueue([message('C')]);
  await writer.close();
  assert.deepEqual(await queued, [{ id: 'C', outcome: 'queued' }]);
  await assert.rejects(writer.enqueue([message('D')]), /the store is closed/);
});
