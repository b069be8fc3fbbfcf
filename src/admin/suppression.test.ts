import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createSqliteStore } from '../store/sqlite/index.ts';
import { createAdminService, AdminError } from './service.ts';

const T = Date.UTC(2025, 0, 1);
const DAY = 86_400_000;

async function setup(suppressionDays = 30) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'postern-suppression-'));
  const store = createSqliteStore({ path: path.join(dir, 'p.db') });
  let now = T;
  const svc = createAdminService(store, { now: () => now, actor: 'test', suppressionDays });
  await svc.addCustomer('acme');
  await svc.addCustomer('other');
  return {
    store,
    svc,
    tick: (ms: number) => {
      now += ms;
    },
    async close() {
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

const refused = (p: Promise<unknown>, what: RegExp) => assert.rejects(p, (e: unknown) => e instanceof AdminError && what.test(e.message));

test('add, list and remove; days default to suppression.days; every change is audited', async () => {
  const t = await setup(30);
  try {
    const s = await t.svc.addSuppression('<Bob@Remote.test>', { customer: 'acme', reason: 'asked by the customer' });
    assert.deepEqual(
      [s.customerName, s.address, s.source, s.reason, s.until],
      ['acme', 'Bob@Remote.test', 'operator', 'asked by the customer', T + 30 * DAY],
    );
    t.tick(1);
    await t.svc.addSuppression('carol@remote.test', { customer: 'other', days: 1 });
    assert.deepEqual(
      (await t.svc.listSuppressions()).map((x) => `${x.customerName}/${x.address}`),
      ['other/carol@remote.test', 'acme/Bob@Remote.test'],
    );
    assert.deepEqual(
      (await t.svc.listSuppressions({ customer: 'acme' })).map((x) => x.address),
      ['Bob@Remote.test'],
    );
    assert.deepEqual(
      (await t.svc.listSuppressions({ address: 'CAROL@remote.test' })).map((x) => x.customerName),
      ['other'],
    );
    t.tick(DAY);
    assert.deepEqual(
      (await t.svc.listSuppressions()).map((x) => x.address),
      ['Bob@Remote.test'],
      'an expired entry is not listed',
    );
    assert.deepEqual(await t.svc.removeSuppression('bob@remote.test', { customer: 'acme' }), {
      customer: 'acme',
      address: 'bob@remote.test',
    });
    await refused(
      t.svc.removeSuppression('bob@remote.test', { customer: 'acme' }),
      /^bob@remote\.test is not suppressed for customer acme$/,
    );
    const audit = await t.store.audit.list();
    assert.deepEqual(audit.map((a) => [a.action, a.target]).slice(0, 3), [
      ['removeSuppression', 'suppression:acme:bob@remote.test'],
      ['addSuppression', 'suppression:other:carol@remote.test'],
      ['addSuppression', 'suppression:acme:bob@remote.test'],
    ]);
    assert.equal(audit[2].before, null);
    assert.deepEqual(audit[2].after, { source: 'operator', reason: 'asked by the customer', until: new Date(T + 30 * DAY).toISOString() });
  } finally {
    await t.close();
  }
});

test('bad input gets one precise error and changes nothing', async () => {
  const t = await setup(0);
  try {
    await refused(t.svc.addSuppression('bob@remote.test', { customer: 'acme' }), /give --days N: suppression\.days is 0/);
    await refused(t.svc.addSuppression('not-an-address', { customer: 'acme', days: 1 }), /^not a valid address: not-an-address$/);
    await refused(t.svc.addSuppression('bob@remote.test', { customer: 'acme', days: 0 }), /--days must be/);
    await refused(t.svc.addSuppression('bob@remote.test', { customer: 'acme', days: 9999 }), /--days must be/);
    await refused(
      t.svc.addSuppression('bob@remote.test', { customer: 'acme', days: 1, reason: 'two\nlines' }),
      /--reason must be one line/,
    );
    await refused(t.svc.addSuppression('bob@remote.test', { customer: 'nobody', days: 1 }), /no customer named nobody/);
    await refused(t.svc.addSuppression('bob@remote.test', { days: 1 }), /give the customer/);
    await refused(t.svc.listSuppressions({ limit: 0 }), /--limit must be a positive whole number/);
    assert.deepEqual(await t.svc.listSuppressions(), []);
    assert.deepEqual(
      (await t.store.audit.list()).filter((a) => a.action !== 'addCustomer'),
      [],
      'refused changes leave no audit record',
    );
  } finally {
    await t.close();
  }
});

test('a customer scope sees and changes its own entries only', async () => {
  const t = await setup();
  try {
    await t.svc.addSuppression('bob@remote.test', { customer: 'acme' });
    await t.svc.addSuppression('bob@remote.test', { customer: 'other' });
    const acme = { customer: 'acme' };
    assert.deepEqual(
      (await t.svc.listSuppressions({}, acme)).map((x) => x.customerName),
      ['acme'],
    );
    await refused(t.svc.listSuppressions({ customer: 'other' }, acme), /customer other is outside this scope/);
    await refused(t.svc.removeSuppression('bob@remote.test', { customer: 'other' }, acme), /outside this scope/);
    await t.svc.removeSuppression('bob@remote.test', {}, acme);
    assert.deepEqual(
      (await t.svc.listSuppressions()).map((x) => x.customerName),
      ['other'],
      "the other customer's entry stays",
    );
    const own = await t.svc.addSuppression('carol@remote.test', { days: 2 }, acme);
    assert.equal(own.customerName, 'acme');
  } finally {
    await t.close();
  }
});
