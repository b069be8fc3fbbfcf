import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createSqliteStore } from '../store/sqlite/index.ts';
import { createAdminService } from './service.ts';

const T = Date.UTC(2025, 0, 1, 12);
const HOUR = 3_600_000;

test("the operator's figures: held mailboxes and sites, bans in force now, the queue by state, the last hour", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'postern-figures-'));
  const store = createSqliteStore({ path: path.join(dir, 'p.db') });
  let now = T;
  try {
    const svc = createAdminService(store, { now: () => now });
    await svc.addCustomer('acme');
    await svc.addDomain('example.com', 'acme');
    const { mailbox } = await svc.addMailbox('alice@example.com', 'alice-secret-1');
    await svc.addMailbox('bob@example.com', 'bob-secret-11');
    assert.deepEqual(await svc.activityFigures(), {
      heldMailboxes: 0,
      heldSites: 0,
      bansActive: 0,
      lastHour: { events: {}, topSenders: [] },
    });
    await store.mailboxes.hold(mailbox.id, 'a burst', now);
    await store.authGuard.recordIpFailure('192.0.2.1', now, HOUR, 1, HOUR);
    await store.authGuard.recordIpFailure('192.0.2.2', now, HOUR, 1, 10 * 60_000);
    const f = await svc.activityFigures();
    assert.equal(f.heldMailboxes, 1);
    assert.equal(f.heldSites, 0);
    assert.equal(f.bansActive, 2);
    now += 30 * 60_000; // the short ban is over
    assert.equal((await svc.activityFigures()).bansActive, 1);
    const d = await svc.queueDepth();
    assert.deepEqual(d.messages, { queued: 0, held: 0, cancelled: 0 });
    assert.deepEqual(d.recipients, { queued: 0, deferred: 0 });
  } finally {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
