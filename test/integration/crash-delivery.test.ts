/**
 * At-least-once delivery across kill -9: `postern serve` delivers to a slow fake MX; it is
 * killed while attempts are in flight and started again on the same dataDir. The restarted
 * node releases its old leases at once, and every recipient reaches the MX at least once.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createSqliteStore } from '../../src/store/sqlite/index.ts';
import nodemailer from 'nodemailer';
import { makeWorkspace, runCli, serveYaml, freePorts, startServe, ok, type Workspace, type ServeProcess } from '../helpers/cli.ts';
import { startFakeDns, type FakeDns } from '../helpers/fake-dns.ts';
import { startFakeMx, type FakeMx } from '../helpers/fake-mx.ts';
import { until } from '../helpers/delivery-lab.ts';

const N = 30;
const PASSWORD = 'alice-Crash-pw-3';

let ws: Workspace | undefined;
let dns: FakeDns | undefined;
let mx: FakeMx | undefined;
const servers: ServeProcess[] = [];
after(async () => {
  for (const s of servers) await s.stop();
  await mx?.close();
  await dns?.close();
  if (ws) fs.rmSync(ws.dir, { recursive: true, force: true });
});

test('kill -9 with deliveries in flight: after a restart every recipient is delivered at least once', async () => {
  const [sub, mxPort] = await freePorts(2);
  dns = await startFakeDns({
    'remote.test': { MX: [{ preference: 10, exchange: 'mx.remote.test' }] },
    'mx.remote.test': { A: ['127.0.0.1'] },
  });
  mx = await startFakeMx({}, { port: mxPort, dataDelayMs: 150 });
  ws = makeWorkspace(
    serveYaml(
      [{ role: 'submission', port: sub }],
      [
        'delivery:',
        '  allowLoopback: true',
        `  mxPort: ${mxPort}`,
        '  concurrency: 4',
        '  pollIntervalMs: 100',
        '  mtaSts: false',
        'dns:',
        `  servers: ["${dns.address}"]`,
      ].join('\n'),
    ),
    'postern-crash-delivery-',
  );
  const w = ws;
  ok(await runCli(w, ['customer', 'add', 'acme']), 'customer add');
  ok(await runCli(w, ['domain', 'add', 'example.com', '--customer', 'acme']), 'domain add');
  ok(await runCli(w, ['mailbox', 'add', 'alice@example.com', '--password-stdin'], { input: `${PASSWORD}\n` }), 'mailbox add');

  const first = await startServe(w, 1);
  servers.push(first);
  const transport = nodemailer.createTransport({
    pool: true,
    maxConnections: 4,
    host: '127.0.0.1',
    port: sub,
    requireTLS: true,
    auth: { user: 'alice@example.com', pass: PASSWORD },
    tls: { rejectUnauthorized: false },
  });
  try {
    await Promise.all(
      Array.from({ length: N }, (_, i) =>
        transport.sendMail({
          from: 'alice@example.com',
          to: `r${i}@remote.test`,
          subject: `crash ${i}`,
          text: `message ${i}`,
        }),
      ),
    );
  } finally {
    transport.close();
  }
  // some delivered, some in flight (the MX answers each final dot after 150 ms)
  await until(() => mx!.received.length >= 3, 10_000, 'the first deliveries');
  first.child.kill('SIGKILL');
  await first.exited;
  const before = mx.received.length;
  assert.ok(before < N, `killed while deliveries were still going on (${before} of ${N} delivered)`);

  const second = await startServe(w, 1);
  servers.push(second);
  const started = Date.now();
  const subjects = () => new Set(mx!.received.map((m) => /Subject: (crash \d+)/.exec(m.data.toString())?.[1]));
  await until(() => subjects().size === N, 30_000, 'every message delivered');
  const released = second.logs.find((l) => l.evt === 'queue' && typeof l.released === 'number');
  assert.ok(released, 'the restarted node released the leases of its previous run');
  assert.ok(Date.now() - started < 25_000, 'delivered without waiting for leases to run out');
  for (let i = 0; i < N; i++) assert.ok(subjects().has(`crash ${i}`), `message ${i} delivered`);
  const dups = mx.received.length - N;
  assert.ok(dups <= 4, `duplicates only within the in-flight window (concurrency 4): ${dups}`);
  const store = createSqliteStore({ path: path.join(w.dataDir, 'postern.db') });
  try {
    await until(async () => (await store.queue.count()) === 0, 10_000, 'empty queue');
  } finally {
    await store.close();
  }
});
