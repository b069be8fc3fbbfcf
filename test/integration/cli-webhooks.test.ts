/**
 * `postern webhook ...` against real `postern serve` processes: the commands' contract (secret
 * shown once, never listed; precise refusals; the audit trail), and durability: an event caused
 * while the receiver is down is kept in the outbox across a restart of the server and delivered
 * after it, signed.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import nodemailer from 'nodemailer';
import { makeWorkspace, runCli, serveYaml, freePorts, startServe, ok, refused, parseJson, type ServeProcess } from '../helpers/cli.ts';
import { loadConfig, secretsKeyFile } from '../../src/config/index.ts';
import { openStore } from '../../src/store/index.ts';
import { createAdminService } from '../../src/admin/service.ts';
import { createSecretBox, loadOrCreateKey } from '../../src/credentials/index.ts';
import { until } from '../helpers/delivery-lab.ts';
import { assertSigned, startReceiver, type Receiver } from '../helpers/webhook-receiver.ts';

const [SUBMISSION, HOOK] = await freePorts(2);
const WEBHOOKS =
  'webhooks:\n  allowInsecure: true\n  allowNetworks: [127.0.0.0/8]\n  retrySeconds: [0.5]\n  pollIntervalMs: 100\n  timeoutSeconds: 2\ndkim:\n  enabled: false';
const ws = makeWorkspace(serveYaml([{ role: 'submission', port: SUBMISSION! }], WEBHOOKS), 'postern-webhooks-');
const URL = `http://127.0.0.1:${HOOK}/hook`;
let serve: ServeProcess | null = null;
let rx: Receiver | null = null;
/** The endpoint the first test made (the second sends to it). */
let hook: { id: string; secret: string } | null = null;
after(async () => {
  await serve?.stop();
  await rx?.close();
  fs.rmSync(ws.dir, { recursive: true, force: true });
});
const cli = (args: string[], input?: string) => runCli(ws, args, input === undefined ? {} : { input });

/** Set-up the commands under test do not cover, done in this process (each `postern` run costs seconds). */
async function setUp(fn: (svc: ReturnType<typeof createAdminService>) => Promise<unknown>): Promise<void> {
  const config = loadConfig(ws.config).config;
  const store = await openStore(config);
  try {
    await fn(createAdminService(store, { secrets: () => createSecretBox(loadOrCreateKey(secretsKeyFile(config))) }));
  } finally {
    await store.close();
  }
}

test('webhook add, list, log, rotate-secret, disable, remove: the secret once, precise refusals, every change audited', async () => {
  await setUp(async (svc) => {
    await svc.addCustomer('acme');
    await svc.addCustomer('other');
  });
  const add = ok(await cli(['webhook', 'add', '--customer', 'acme', '--url', URL, '--events', 'held, limit-reached']), 'add').stdout;
  const id = /webhook endpoint (wh_\S+) added for customer acme/.exec(add)?.[1];
  assert.ok(id, add);
  const secret = /secret: (whsec_\S+)/.exec(add)?.[1];
  assert.ok(secret && /^whsec_[A-Za-z0-9_-]{43}$/.test(secret), add);
  assert.match(add, /events: held, limit-reached/);
  const listed = parseJson<{ id: string; customer: string; url: string; events: string[]; enabled: boolean }[]>(
    ok(await cli(['webhook', 'list', '--json']), 'list'),
  );
  assert.deepEqual(
    listed.map((e) => [e.id, e.customer, e.url, e.events, e.enabled]),
    [[id, 'acme', URL, ['held', 'limit-reached'], true]],
  );
  assert.doesNotMatch(JSON.stringify(listed), /whsec_/, 'the secret is never listed');

  refused(await cli(['webhook', 'add', '--customer', 'acme', '--url', 'ftp://x.example/']), /must start with https:\/\//, 'ftp');
  refused(
    await cli(['webhook', 'add', '--customer', 'acme', '--url', URL, '--events', 'delivered,opened']),
    /unknown event type opened: use delivered, deferred, bounced, held, limit-reached/,
    'event',
  );
  refused(await cli(['webhook', 'remove', 'wh_nope']), /no webhook endpoint wh_nope/, 'remove unknown');
  refused(await cli(['webhook', 'log', '--limit', '0']), /--limit must be a whole number from 1 to 10000/, 'limit');

  // a second endpoint: its secret rotates, it is disabled and removed
  const second = /webhook endpoint (wh_\S+)/.exec(
    ok(await cli(['webhook', 'add', '--customer', 'other', '--url', 'https://hooks.other.example/x']), 'add 2').stdout,
  )![1]!;
  const rotated = ok(await cli(['webhook', 'rotate-secret', second]), 'rotate').stdout;
  assert.match(rotated, /secret: whsec_/);
  assert.match(ok(await cli(['webhook', 'disable', second]), 'disable').stdout, /disabled/);
  assert.match(ok(await cli(['webhook', 'remove', second]), 'remove').stdout, new RegExp(`webhook endpoint ${second} removed`));
  const audit = parseJson<{ action: string; target: string; after: unknown }[]>(ok(await cli(['audit', '--json']), 'audit'));
  assert.deepEqual(
    audit
      .filter((a) => /ebhook/.test(a.action))
      .map((a) => a.action)
      .reverse(),
    ['addWebhook', 'addWebhook', 'rotateWebhookSecret', 'setWebhookEnabled', 'removeWebhook'],
  );
  assert.doesNotMatch(JSON.stringify(audit), /whsec_|v1:/, 'no secret, sealed or not, in the trail');
  hook = { id, secret };
});

test('an event caused while the receiver is down survives a restart of postern serve and is delivered after it', async () => {
  assert.ok(hook, 'the endpoint of the first test');
  const { id, secret } = hook;
  await setUp(async (svc) => {
    await svc.addDomain('example.com', 'acme');
    await svc.addMailbox('alice@example.com', 'alice-secret-1');
    await svc.setLimit('mailbox', 'alice@example.com', { window: 'day', messages: 0, action: 'hold' });
  });
  serve = await startServe(ws, 1);
  const tr = nodemailer.createTransport({
    host: '127.0.0.1',
    port: SUBMISSION,
    requireTLS: true,
    auth: { user: 'alice@example.com', pass: 'alice-secret-1' },
    tls: { rejectUnauthorized: false },
  });
  const info = await tr.sendMail({ from: 'alice@example.com', to: 'bob@remote.test', subject: 's', text: 'body text' });
  tr.close();
  const qid = /queued as (\S+)/.exec(info.response)![1]!;
  // the receiver is down: attempts fail and wait for a retry
  await until(() => serve!.logs.filter((l) => l.evt === 'webhook' && l.result === 'pending').length >= 2, 10_000, 'failed attempts');
  await serve.stop();
  const log = parseJson<
    { type: string; state: string; attempts: number; lastError: string | null; payload: { data: { queueId: string } } }[]
  >(ok(await cli(['webhook', 'log', '--endpoint', id, '--json']), 'log while down'));
  assert.deepEqual(log.map((d) => [d.type, d.state, d.payload.data.queueId]).sort(), [
    ['held', 'pending', qid],
    ['limit-reached', 'pending', qid],
  ]);
  // the log customers read says no more than that; why goes to the operator's log
  assert.ok(
    log.every((d) => d.attempts >= 1 && d.lastError === 'no HTTP response'),
    JSON.stringify(log),
  );

  rx = await startReceiver(() => 200, HOOK);
  serve = await startServe(ws, 1);
  await until(() => rx!.received.length === 2, 15_000, 'both events after the restart');
  for (const r of rx.received) {
    assertSigned(r, secret);
    assert.equal(r.json.data.queueId, qid);
    assert.equal(r.json.customer, 'acme');
  }
  assert.deepEqual(rx.received.map((r) => r.json.type).sort(), ['held', 'limit-reached']);
  await until(
    () => serve!.logs.filter((l) => l.evt === 'webhook' && l.result === 'delivered').length === 2,
    5000,
    'both recorded delivered',
  );
  const table = ok(await cli(['webhook', 'log', '--customer', 'acme']), 'log table').stdout;
  assert.equal((table.match(/ delivered /g) ?? []).length, 2, table);
  assert.match(table, /CREATED\s+ENDPOINT\s+TYPE\s+EVENT\s+STATE\s+ATTEMPTS/);

  ok(await cli(['webhook', 'test', id]), 'test');
  await until(() => rx!.received.some((r) => r.json.type === 'ping'), 5000, 'the ping from the CLI');
  assert.equal(rx.received.length, 3, 'nothing sent twice');
});
