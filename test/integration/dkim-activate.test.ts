/**
 * `dkim activate` takes effect in the running server at once, with the key cache at its
 * default (30 s): an activation written through another connection to the database (as the
 * CLI, another process, writes it) or through the server's own admin service (the API and the
 * console) signs the next message, not one 30 s later.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startDeliveryLab, until, type DeliveryLab } from '../helpers/delivery-lab.ts';
import type { FakeMx } from '../helpers/fake-mx.ts';
import type { FakeZone } from '../helpers/fake-dns.ts';
import { txtStrings } from '../../src/dkim/index.ts';
import { dkimAdminOptions } from '../../src/admin/dkim.ts';
import { createSecretBox, loadOrCreateKey } from '../../src/credentials/index.ts';
import { secretsKeyFile } from '../../src/config/index.ts';
import { createSqliteStore } from '../../src/store/sqlite/index.ts';

const zone: FakeZone = {
  'remote.test': { MX: [{ preference: 10, exchange: 'mx1.remote.test' }] },
  'mx1.remote.test': { A: ['127.0.0.2'] },
};
let lab: DeliveryLab;
let mx: FakeMx;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

before(async () => {
  lab = await startDeliveryLab(zone, {}, { dkim: { enabled: true, ed25519: false, autoActivate: false, retireDays: 7 } });
  assert.equal(lab.s.config.dkim.keyCacheSeconds, 30, 'the default key cache');
  mx = await lab.mx('127.0.0.2', {});
});
after(() => lab.close());

async function publish(domain: string) {
  for (const k of await lab.s.admin.showDkim(domain)) zone[k.name] = { TXT: [txtStrings(k.value)] };
  lab.dns.setZone(zone);
}

/** The selectors a message was signed with, as the MX received it. */
async function selectorsOf(id: string): Promise<string[]> {
  const m = await until(() => mx.received.find((x) => x.data.toString().includes(`id ${id}`)), 8000, id);
  return [...m.data.toString().matchAll(/ s=([^;]+);/g)].map((x) => x[1]!);
}

test('activated by another process (the CLI): the next message, under a second later, is signed', async () => {
  const before = await lab.submit({ to: 'bob@remote.test', subject: 'pending only' });
  assert.deepEqual(await selectorsOf(before), [], 'a pending key does not sign (and the empty key list is now cached)');
  await publish('example.com');
  const other = createSqliteStore({ path: lab.s.config.store.path! });
  try {
    const secrets = () => createSecretBox(loadOrCreateKey(secretsKeyFile(lab.s.config)));
    const r = await dkimAdminOptions(lab.s.config, other, secrets, () => Date.now()).service.activate('example.com', { force: false });
    assert.equal(r.activated.length, 1);
    const started = Date.now();
    await sleep(600);
    const id = await lab.submit({ to: 'bob@remote.test', subject: 'after the CLI' });
    assert.ok(Date.now() - started < 5000);
    assert.deepEqual(
      await selectorsOf(id),
      [r.activated[0]!.selector],
      'signed with the key activated elsewhere, well inside the 30 s cache',
    );
  } finally {
    await other.close();
  }
});

test("rotated and activated through the server's own admin service (API, console): the next message uses the new key", async () => {
  const [next] = await lab.s.admin.rotateDkim('example.com');
  await publish('example.com');
  const act = await lab.s.admin.activateDkim('example.com');
  assert.deepEqual(
    act.activated.map((k) => k.selector),
    [next!.selector],
  );
  await sleep(600);
  const id = await lab.submit({ to: 'bob@remote.test', subject: 'after the API' });
  assert.deepEqual(await selectorsOf(id), [next!.selector]);
});
