/**
 * /metrics, /healthz and /readyz on the web listener, over real traffic: submissions, a failed
 * login, refused senders and relaying, the send API, delivery to fake MX hosts with a bounce,
 * a hold by a sending limit. The exposition text is parsed and each counter checked for the
 * exact amount it moved. With two worker processes, /metrics adds up both.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import nodemailer from 'nodemailer';
import { startDeliveryLab, until, type DeliveryLab } from '../helpers/delivery-lab.ts';
import { startTestServer, submitAs, type TestServer } from '../helpers/server.ts';
import { apiPost, webPort } from '../helpers/api.ts';
import { makeWorkspace, freePorts, startServe, type Workspace, type ServeProcess } from '../helpers/cli.ts';
import type { FakeZone } from '../helpers/fake-dns.ts';

// ---- the exposition format (text 0.0.4), parsed ----

interface Exposition {
  types: Map<string, string>;
  help: Map<string, string>;
  /** "name{a=\"1\",b=\"2\"}" (labels sorted) -> value */
  samples: Map<string, number>;
}

function unescapeHtml(v: string): string {
  return v.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
}

function sampleKey(name: string, labels: Record<string, string>): string {
  const parts = Object.keys(labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`);
  return parts.length ? `${name}{${parts.join(',')}}` : name;
}

export function parseExposition(text: string): Exposition {
  const out: Exposition = { types: new Map(), help: new Map(), samples: new Map() };
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const meta = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (meta) {
      (meta[1] === 'TYPE' ? out.types : out.help).set(meta[2]!, meta[3]!);
      continue;
    }
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: \d+)?$/.exec(line);
    assert.ok(m, `not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/g;
    let l: RegExpExecArray | null;
    while ((l = re.exec(m[2] ?? ''))) labels[l[1]!] = unescapeHtml(l[2]!);
    const value = m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : Number(m[3]);
    assert.ok(!Number.isNaN(value) || m[3] === 'NaN', `bad value in: ${line}`);
    out.samples.set(sampleKey(m[1]!, labels), value);
  }
  return out;
}

/** A sample's value; 0 when absent (a counter not yet incremented). */
const val = (e: Exposition, name: string, labels: Record<string, string> = {}) => e.samples.get(sampleKey(name, labels)) ?? 0;

// ---- HTTP ----

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

function get(port: number, path: string, localAddress = '127.0.0.1'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    https
      .get({ host: '127.0.0.1', port, path, localAddress, rejectUnauthorized: false, agent: false }, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d: string) => {
          text += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      })
      .on('error', reject);
  });
}

async function scrape(port: number): Promise<Exposition> {
  const r = await get(port, '/metrics');
  assert.equal(r.status, 200, r.text);
  assert.match(String(r.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  return parseExposition(r.text);
}

// ---- the traffic ----

const ZONE: FakeZone = {
  'remote.test': { MX: [{ preference: 10, exchange: 'mx1.remote.test' }] },
  'mx1.remote.test': { A: ['127.0.0.2'] },
  // bounces to alice@example.com go here
  'example.com': { MX: [{ preference: 10, exchange: 'mx.example.com' }] },
  'mx.example.com': { A: ['127.0.0.4'] },
};

const ALICE = { user: 'alice@example.com', pass: 'alice-secret-1' };

/** MAIL FROM an address alice may not use: refused with 553. */
async function forgedSender(s: TestServer): Promise<string> {
  const tr = nodemailer.createTransport({
    host: '127.0.0.1',
    port: s.port('submission'),
    requireTLS: true,
    auth: ALICE,
    tls: { rejectUnauthorized: false },
  });
  try {
    await tr.sendMail({
      envelope: { from: 'ceo@bank.test', to: ['x@remote.test'] },
      raw: 'From: ceo@bank.test\r\nSubject: s\r\n\r\nx\r\n',
    });
    return 'accepted';
  } catch (err) {
    return (err as { response?: string }).response ?? (err as Error).message;
  } finally {
    tr.close();
  }
}

/** Unauthenticated on port 25 to a domain we do not host: relay denied. */
async function relayAttempt(s: TestServer): Promise<string> {
  const tr = nodemailer.createTransport({ host: '127.0.0.1', port: s.port('mx'), tls: { rejectUnauthorized: false } });
  try {
    await tr.sendMail({ envelope: { from: 'someone@elsewhere.test', to: ['x@remote.test'] }, raw: 'Subject: s\r\n\r\nx\r\n' });
    return 'accepted';
  } catch (err) {
    return (err as { response?: string }).response ?? (err as Error).message;
  } finally {
    tr.close();
  }
}

let lab: DeliveryLab | null = null;
const workspaces: Workspace[] = [];
const serves: ServeProcess[] = [];
after(async () => {
  await lab?.close();
  for (const p of serves) await p.stop();
  for (const w of workspaces) fs.rmSync(w.dir, { recursive: true, force: true });
});

test('every counter moves by exactly what the traffic did: connections, logins, messages, refusals, deliveries, bounces, limits, holds', async () => {
  lab = await startDeliveryLab(ZONE);
  const s = lab.s;
  await lab.mx('127.0.0.2', { rcpt: (c) => (c.to === 'nobody@remote.test' ? { code: 550, text: '5.1.1 no such user here' } : 'accept') });
  const home = await lab.mx('127.0.0.4', {});
  const port = webPort(s);
  const before = await scrape(port);

  // every metric is declared with a help text and a type, before anything happened
  for (const [name, type] of Object.entries({
    postern_smtp_connections_total: 'counter',
    postern_smtp_connections_open: 'gauge',
    postern_auth_total: 'counter',
    postern_auth_bans_total: 'counter',
    postern_messages_accepted_total: 'counter',
    postern_messages_refused_total: 'counter',
    postern_limit_hits_total: 'counter',
    postern_holds_total: 'counter',
    postern_delivery_attempts_total: 'counter',
    postern_delivery_duration_seconds: 'histogram',
    postern_delivery_latency_seconds: 'histogram',
    postern_dsn_total: 'counter',
    postern_queue_length: 'gauge',
    postern_queue_messages: 'gauge',
    postern_queue_recipients: 'gauge',
    postern_delivery_recipients_claimed: 'gauge',
    postern_scan_messages_total: 'counter',
    postern_held_mailboxes: 'gauge',
    postern_held_sites: 'gauge',
    postern_bans_active: 'gauge',
    postern_top_sender_messages: 'gauge',
    postern_tracked_events_last_hour: 'gauge',
  })) {
    assert.equal(before.types.get(name), type, `${name} is a ${type}`);
    assert.ok((before.help.get(name) ?? '').length > 10, `${name} has a help text`);
  }

  // one message to two recipients (one refused by the MX: a bounce), a failed login, a forged sender, a relay attempt
  await lab.submit({ to: ['nobody@remote.test', 'bob@remote.test'], subject: 'half bounces' });
  assert.match(await submitAs(s, { user: ALICE.user, pass: 'wrong' }), /^535 /);
  assert.match(await forgedSender(s), /^553 5\.7\.1 /);
  assert.match(await relayAttempt(s), /^55\d 5\.7\.1 /);
  // the send API: one accepted, one refused (sender not allowed)
  assert.equal((await apiPost(s, { auth: ALICE, body: { from: ALICE.user, to: 'bob@remote.test', text: 'api' } })).status, 202);
  assert.equal((await apiPost(s, { auth: ALICE, body: { from: 'ceo@bank.test', to: 'bob@remote.test', text: 'api' } })).status, 403);
  await until(() => home.received.length === 1, 5000, 'the bounce delivered');
  await until(async () => (await s.server.store.queue.count()) === 0, 5000, 'an empty queue');

  // a limit that holds alice's next message (she sent two this hour)
  await s.admin.setLimit('mailbox', ALICE.user, { window: 'hour', messages: 2, action: 'hold' });
  const held = await lab.submit({ to: 'bob@remote.test', subject: 'held' });
  assert.equal((await s.server.store.queue.get(held))?.state, 'held');

  await until(
    async () => val(await scrape(port), 'postern_smtp_connections_open', { listener: 'submission:0' }) === 0,
    5000,
    'every session closed',
  );
  const now = await scrape(port);
  const delta = (name: string, labels: Record<string, string> = {}) => val(now, name, labels) - val(before, name, labels);
  const expect: [string, Record<string, string>, number][] = [
    // lab.submit twice, the failed login, the forged sender; the relay attempt on 25
    ['postern_smtp_connections_total', { listener: 'submission:0', result: 'accepted' }, 4],
    ['postern_smtp_connections_total', { listener: 'mx:0', result: 'accepted' }, 1],
    ['postern_smtp_connections_total', { listener: 'submission:0', result: 'banned' }, 0],
    ['postern_auth_total', { channel: 'smtp', result: 'success' }, 3],
    ['postern_auth_total', { channel: 'smtp', result: 'failure' }, 1],
    ['postern_auth_total', { channel: 'api', result: 'success' }, 2],
    ['postern_auth_bans_total', {}, 0],
    ['postern_messages_accepted_total', { channel: 'smtp' }, 2],
    ['postern_messages_accepted_total', { channel: 'api' }, 1],
    ['postern_messages_accepted_total', { channel: 'dsn' }, 1],
    ['postern_messages_refused_total', { channel: 'smtp', reason: 'sender' }, 1],
    ['postern_messages_refused_total', { channel: 'smtp', reason: 'relay' }, 1],
    ['postern_messages_refused_total', { channel: 'api', reason: 'sender' }, 1],
    // bob twice (SMTP, API) and the bounce to alice; nobody failed at RCPT
    ['postern_delivery_attempts_total', { outcome: 'delivered', category: 'ok' }, 3],
    ['postern_delivery_attempts_total', { outcome: 'failed', category: 'mailbox-unknown' }, 1],
    ['postern_delivery_attempts_total', { outcome: 'deferred', category: 'other' }, 0],
    ['postern_delivery_duration_seconds_count', {}, 3],
    ['postern_delivery_latency_seconds_count', {}, 3],
    ['postern_dsn_total', { type: 'failure' }, 1],
    ['postern_limit_hits_total', { level: 'mailbox', action: 'hold' }, 1],
    ['postern_holds_total', { kind: 'message', reason: 'limit' }, 1],
  ];
  for (const [name, labels, n] of expect) assert.equal(delta(name, labels), n, `${sampleKey(name, labels)} moved by ${n}`);
  // the "+Inf" bucket counts every observation; latency is short here
  assert.equal(val(now, 'postern_delivery_latency_seconds_bucket', { le: '+Inf' }), 3);
  assert.equal(val(now, 'postern_delivery_latency_seconds_bucket', { le: '60' }), 3);
  // gauges read when scraped: the held message is what is left in the queue; nothing is claimed
  assert.equal(val(now, 'postern_queue_length'), 1);
  assert.equal(val(now, 'postern_queue_messages', { state: 'held' }), 1);
  assert.equal(val(now, 'postern_queue_messages', { state: 'queued' }), 0);
  assert.ok(now.samples.has(sampleKey('postern_queue_messages', { state: 'queued' })), 'a state with no messages is reported as 0');
  assert.ok(val(now, 'postern_queue_recipients', { state: 'queued' }) >= 1, "the held message's recipients are pending");
  assert.equal(val(now, 'postern_delivery_recipients_claimed', { state: 'running' }), 0);
  assert.equal(val(now, 'postern_delivery_recipients_claimed', { state: 'waiting' }), 0);
  // the dashboard's gauges, read when scraped: nothing on hold or banned; alice's three
  // messages this hour (SMTP, API, the held one); the last hour's deliveries and the bounce
  assert.equal(val(now, 'postern_held_mailboxes'), 0);
  assert.equal(val(now, 'postern_held_sites'), 0);
  assert.equal(val(now, 'postern_bans_active'), 0);
  assert.equal(val(now, 'postern_top_sender_messages', { sender: ALICE.user }), 3);
  assert.equal([...now.samples.keys()].filter((k) => k.startsWith('postern_top_sender_messages{')).length, 1, 'only those who sent');
  assert.equal(val(now, 'postern_tracked_events_last_hour', { type: 'delivered' }), 3);
  assert.equal(val(now, 'postern_tracked_events_last_hour', { type: 'failed' }), 1);
  assert.equal(val(now, 'postern_tracked_events_last_hour', { type: 'held' }), 1);
  assert.ok(
    now.samples.has(sampleKey('postern_tracked_events_last_hour', { type: 'attempt-deferred' })),
    "the dashboard's types are reported as 0",
  );
  // no label carries an address or a customer name, except the top senders' logins
  for (const key of now.samples.keys())
    if (!key.startsWith('postern_top_sender_messages{')) assert.doesNotMatch(key, /@|acme|example\.com/, key);
});

test('/healthz and /readyz answer anyone, without caching; /metrics only the addresses of web.metricsAllow', async () => {
  const s = await startTestServer({ web: { port: 0, host: '127.0.0.1', metricsAllow: ['127.0.0.1', '10.0.0.0/8'] } } as never);
  try {
    const port = webPort(s);
    for (const from of ['127.0.0.1', '127.0.0.2']) {
      const h = await get(port, '/healthz', from);
      assert.equal(h.status, 200);
      assert.deepEqual(JSON.parse(h.text), { status: 'ok' });
      assert.equal(h.headers['cache-control'], 'no-store');
      const r = await get(port, '/readyz', from);
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(JSON.parse(r.text), { status: 'ready', checks: { store: 'ok', listeners: 'ok', disk: 'ok' } });
      assert.equal(r.headers['cache-control'], 'no-store');
    }
    assert.equal((await get(port, '/metrics', '127.0.0.1')).status, 200);
    assert.equal((await get(port, '/metrics', '127.0.0.2')).status, 404, 'loopback is not enough when the list does not name it');
  } finally {
    await s.close();
  }
});

test('/readyz: 503 saying what is not ready: a store that does not answer, a store that fails, a listener that is not bound', async () => {
  const s = await startTestServer();
  const port = webPort(s);
  const readyz = async () => {
    const r = await get(port, '/readyz');
    assert.equal(r.headers['cache-control'], 'no-store');
    return { status: r.status, body: JSON.parse(r.text) as { status: string; checks: Record<string, string> } };
  };
  const queue = s.server.store.queue;
  const stateOf = queue.stateOf;
  try {
    queue.stateOf = () => new Promise(() => undefined); // hangs
    assert.deepEqual(await readyz(), {
      status: 503,
      body: { status: 'not ready', checks: { store: 'timeout', listeners: 'ok', disk: 'ok' } },
    });
    queue.stateOf = stateOf;
    assert.equal((await readyz()).status, 200);
    await s.server.listeners.find((l) => l.config.role === 'mx')!.close();
    assert.deepEqual(await readyz(), {
      status: 503,
      body: { status: 'not ready', checks: { store: 'ok', listeners: 'not listening: mx:0', disk: 'ok' } },
    });
    await s.server.store.close();
    assert.deepEqual((await readyz()).body.checks, { store: 'error', listeners: 'not listening: mx:0', disk: 'ok' });
    // the process itself still answers
    assert.equal((await get(port, '/healthz')).status, 200);
  } finally {
    queue.stateOf = stateOf;
    await s.close();
  }
});

test('two worker processes: /metrics (served by one of them) adds up the counters of both', async () => {
  const [smtp] = await freePorts(1);
  const ws = makeWorkspace(
    [
      'hostname: mx.postern.test',
      'dataDir: ./data',
      'workers: 2',
      'listeners:',
      `  - { role: submission, port: ${smtp}, host: 127.0.0.1 }`,
      'web: { port: 0, host: 127.0.0.1 }',
      'delivery: { enabled: false }',
      'log: { level: info }',
      '',
    ].join('\n'),
  );
  workspaces.push(ws);
  const serve = await startServe(ws, 2);
  serves.push(serve);
  const web = await until(
    () => serve.logs.find((l) => l.evt === 'listening' && l.listener === 'web')?.port as number | undefined,
    10_000,
    'the web listener',
  );
  // round robin hands connections only to workers that listen already: wait for both
  await until(
    () =>
      new Set(serve.logs.filter((l) => l.evt === 'listening' && l.listener === `submission:${smtp}`).map((l) => l.worker)).size === 2 ||
      undefined,
    10_000,
    'both workers listening',
  );

  const n = 6;
  for (let i = 0; i < n; i++) {
    await new Promise<void>((resolve, reject) => {
      const sock = net.connect(smtp!, '127.0.0.1');
      sock.once('data', () => sock.end('QUIT\r\n'));
      sock.once('close', () => resolve());
      sock.once('error', reject);
    });
  }
  // the connections went to both workers (round robin), each counting its own
  const workers = new Set(serve.logs.filter((l) => l.evt === 'connect' && l.listener === `submission:${smtp}`).map((l) => l.worker));
  assert.equal(workers.size, 2, 'both workers took connections');
  const e = parseExposition(
    (
      await until(
        async () => {
          const r = await get(web, '/metrics');
          return r.status === 200 ? r : null;
        },
        10_000,
        '/metrics',
      )
    ).text,
  );
  assert.equal(val(e, 'postern_smtp_connections_total', { listener: `submission:${smtp}`, result: 'accepted' }), n);
  assert.equal(e.types.get('postern_delivery_latency_seconds'), 'histogram');
  assert.equal(val(e, 'postern_queue_length'), 0, 'the queue is counted once, not once per worker');
});
