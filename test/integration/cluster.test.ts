/**
 * Two Postern nodes (real `postern serve` processes) on one PostgreSQL store: the limits, the
 * lockout and a password change hold whichever node a client reaches, and mail accepted by a
 * node killed with -9 in the middle of its deliveries is delivered by the other.
 */
import { test, after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import nodemailer from 'nodemailer';
import { makeWorkspace, runCli, serveYaml, freePorts, startServe, ok, type Workspace, type ServeProcess } from '../helpers/cli.ts';
import { startFakeDns, type FakeDns } from '../helpers/fake-dns.ts';
import { startFakeMx, type FakeMx } from '../helpers/fake-mx.ts';
import { until } from '../helpers/delivery-lab.ts';
import { makeSchema, type TestSchema } from '../helpers/pg.ts';
import { createPostgresStore } from '../../src/store/postgres/index.ts';

const PASSWORD = 'alice-Cluster-pw-7';
const cleanups: (() => Promise<unknown> | unknown)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

interface Node { ws: Workspace; port: number; proc: ServeProcess }

/** A node's workspace: its own data folder, the shared store and the shared secrets key. */
function nodeWorkspace(name: string, port: number, db: TestSchema, keyFile: string, extra = ''): Workspace {
  const ws = makeWorkspace(serveYaml([{ role: 'submission', port }], [
    `nodeName: ${name}`,
    'store:',
    '  kind: postgres',
    `  url: ${db.url}`,
    `  schema: ${db.schema}`,
    'secrets:',
    `  keyFile: ${keyFile}`,
    'auth:',
    '  failureDelayMs: 0',
    '  maxFailures: 3',
    '  knownIpDays: 0', // the lock applies to the network this test logged in from before
    extra,
  ].join('\n')), `postern-cluster-${name}-`);
  cleanups.push(() => fs.rmSync(ws.dir, { recursive: true, force: true }));
  return ws;
}

async function cluster(db: TestSchema, extra = ''): Promise<{ a: Workspace; b: Workspace; ports: number[]; keyDir: string }> {
  const ports = await freePorts(2);
  const keyDir = fs.mkdtempSync(path.join(process.env.TMPDIR ?? '/tmp', 'postern-cluster-key-'));
  cleanups.push(() => fs.rmSync(keyDir, { recursive: true, force: true }));
  const keyFile = path.join(keyDir, 'secrets.key');
  return { a: nodeWorkspace('node-a', ports[0], db, keyFile, extra), b: nodeWorkspace('node-b', ports[1], db, keyFile, extra), ports, keyDir };
}

async function provision(ws: Workspace): Promise<void> {
  ok(await runCli(ws, ['customer', 'add', 'acme']), 'customer add');
  ok(await runCli(ws, ['domain', 'add', 'example.com', '--customer', 'acme']), 'domain add');
  ok(await runCli(ws, ['mailbox', 'add', 'alice@example.com', '--password-stdin'], { input: `${PASSWORD}\n` }), 'mailbox add');
}

async function serve(ws: Workspace): Promise<ServeProcess> {
  const p = await startServe(ws, 1);
  cleanups.push(() => p.stop());
  return p;
}

function transport(port: number, pass = PASSWORD, user = 'alice@example.com') {
  return nodemailer.createTransport({
    host: '127.0.0.1', port, requireTLS: true, auth: { user, pass }, tls: { rejectUnauthorized: false },
  });
}

/** Sends one message on its own connection; the SMTP reply code of the outcome (250 when accepted). */
async function send(port: number, i: number): Promise<number> {
  const t = transport(port);
  try {
    await t.sendMail({ from: 'alice@example.com', to: `r${i}@remote.test`, subject: `burst ${i}`, text: `message ${i}` });
    return 250;
  } catch (err) {
    return (err as { responseCode?: number }).responseCode ?? 0;
  } finally {
    t.close();
  }
}

async function login(port: number, pass: string): Promise<{ ok: boolean; reply: string }> {
  const t = transport(port, pass);
  try {
    await t.verify();
    return { ok: true, reply: '' };
  } catch (err) {
    return { ok: false, reply: String((err as { response?: string }).response ?? (err as Error).message) };
  } finally {
    t.close();
  }
}

describe('two nodes, one PostgreSQL: limits, lockouts and passwords hold on every node', () => {
  let db: TestSchema;
  let nodes: Node[];
  before(async () => {
    db = await makeSchema('cluster');
    cleanups.push(() => db.drop());
    const c = await cluster(db);
    await provision(c.a);
    nodes = [];
    for (const [ws, port] of [[c.a, c.ports[0]], [c.b, c.ports[1]]] as const) nodes.push({ ws, port, proc: await serve(ws) });
  });

  test('a burst split across both nodes cannot pass a limit', async () => {
    ok(await runCli(nodes[0].ws, ['limits', 'set', 'customer', 'acme', '--window', 'hour', '--messages', '10', '--action', 'defer']), 'limits set');
    // a few through each node one by one, then the rest at once, split across both
    const codes: number[] = [];
    for (let i = 0; i < 6; i++) codes.push(await send(nodes[i % 2].port, i));
    codes.push(...await Promise.all(Array.from({ length: 24 }, (_, i) => send(nodes[i % 2].port, 6 + i))));
    assert.equal(codes.filter((c) => c === 250).length, 10, `exactly 10 accepted: ${codes.join(' ')}`);
    assert.equal(codes.filter((c) => c === 451).length, 20, `the rest deferred with 451: ${codes.join(' ')}`);
    const queued = (n: Node) => n.proc.logs.filter((l) => l.evt === 'queued').length;
    assert.ok(queued(nodes[0]) > 0 && queued(nodes[1]) > 0, `both nodes accepted part of it (${queued(nodes[0])} + ${queued(nodes[1])})`);
    assert.equal(queued(nodes[0]) + queued(nodes[1]), 10);
    ok(await runCli(nodes[1].ws, ['limits', 'clear', 'customer', 'acme']), 'limits clear');
  });

  test('a lockout caused through node A holds on node B', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await login(nodes[0].port, `wrong-${i}`)).ok, false);
    const onB = await login(nodes[1].port, PASSWORD);
    assert.equal(onB.ok, false, 'the right password is refused on node B while the mailbox is locked');
    assert.match(onB.reply, /^535 5\.7\.8/);
    ok(await runCli(nodes[1].ws, ['mailbox', 'unlock', 'alice@example.com']), 'unlock');
    assert.equal((await login(nodes[0].port, PASSWORD)).ok, true, 'unlocked on node A by a command run against node B');
  });

  test('a password changed through node A is refused on node B within a second', async () => {
    assert.equal((await login(nodes[1].port, PASSWORD)).ok, true, 'node B knows (and caches) the old password');
    const next = 'alice-Next-pw-8';
    ok(await runCli(nodes[0].ws, ['mailbox', 'passwd', 'alice@example.com', '--password-stdin'], { input: `${next}\n` }), 'passwd');
    const changed = Date.now();
    const old = await login(nodes[1].port, PASSWORD);
    assert.equal(old.ok, false, 'the old password is refused on node B');
    assert.ok(Date.now() - changed < 1000, 'within a second');
    assert.equal((await login(nodes[1].port, next)).ok, true, 'the new one works on node B');
  });
});

describe('a node killed with -9 in the middle of its deliveries', () => {
  const N = 6;
  let dns: FakeDns;
  let mx: FakeMx;
  test('its mail is delivered by the other node once its leases run out, each recipient once', async () => {
    const db = await makeSchema('crash');
    cleanups.push(() => db.drop());
    let hang = true;
    dns = await startFakeDns({ 'remote.test': { MX: [{ preference: 10, exchange: 'mx.remote.test' }] }, 'mx.remote.test': { A: ['127.0.0.1'] } });
    cleanups.push(() => dns.close());
    mx = await startFakeMx({ data: () => (hang ? 'silent-after-dot' : 'accept') });
    cleanups.push(() => mx.close());
    const c = await cluster(db, [
      'delivery:',
      '  allowLoopback: true',
      `  mxPort: ${mx.port}`,
      '  pollIntervalMs: 200',
      '  mtaSts: false',
      '  connectTimeoutSeconds: 2',
      '  commandTimeoutSeconds: 2',
      '  dataTimeoutSeconds: 20',
      '  leaseSeconds: 25',
      'dns:',
      `  servers: ["${dns.address}"]`,
    ].join('\n'));
    await provision(c.a);
    const a = await serve(c.a);
    const t = nodemailer.createTransport({
      pool: true, maxConnections: 3, host: '127.0.0.1', port: c.ports[0], requireTLS: true,
      auth: { user: 'alice@example.com', pass: PASSWORD }, tls: { rejectUnauthorized: false },
    });
    try {
      await Promise.all(Array.from({ length: N }, (_, i) => t.sendMail({ from: 'alice@example.com', to: `r${i}@remote.test`, subject: `crash ${i}`, text: `body ${i}` })));
    } finally {
      t.close();
    }
    // node A has sent every message and waits for the replies after the final dot
    await until(() => mx.silent.length >= N, 15_000, 'node A in the middle of every delivery');
    const claimedAt = Date.now();
    const b = await serve(c.b);
    a.child.kill('SIGKILL');
    await a.exited;
    hang = false;
    const subjects = () => mx.received.map((m) => /Subject: (crash \d+)/.exec(m.data.toString())?.[1]);
    await until(() => new Set(subjects()).size === N, 60_000, 'node B delivered every message');
    assert.ok(Date.now() - claimedAt >= 20_000, 'node B waited for node A\'s leases to run out');
    assert.equal(mx.received.length, N, `each recipient delivered once: ${subjects().join(', ')}`);
    const delivered = b.logs.filter((l) => l.evt === 'delivery' && l.result === 'delivered');
    assert.equal(delivered.length, N, 'node B logged every delivery');
    const store = await createPostgresStore({ url: db.url, schema: db.schema });
    try {
      await until(async () => (await store.queue.count()) === 0, 10_000, 'an empty queue');
    } finally {
      await store.close();
    }
  });
});
