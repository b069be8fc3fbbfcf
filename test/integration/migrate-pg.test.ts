/**
 * Moving a single-node install up: `postern migrate --from-sqlite` copies a SQLite install with
 * queued mail (small bodies in the rows, a large one in a spool file) into PostgreSQL; a node
 * on PostgreSQL then delivers every message intact and logs the mailbox in with its old
 * password. A second run, or a run into a database that holds data, is refused without --force.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import nodemailer from 'nodemailer';
import { makeWorkspace, runCli, serveYaml, freePorts, startServe, ok, refused, type ServeProcess } from '../helpers/cli.ts';
import { startFakeDns } from '../helpers/fake-dns.ts';
import { startFakeMx } from '../helpers/fake-mx.ts';
import { until, parse } from '../helpers/delivery-lab.ts';
import { makeSchema } from '../helpers/pg.ts';

const PASSWORD = 'alice-Move-pw-5';
const cleanups: (() => Promise<unknown> | unknown)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

test('migrate --from-sqlite keeps every queued message deliverable, and refuses to run twice', async () => {
  const [subOld, subNew] = await freePorts(2);
  // the single-node install: SQLite, delivery off, so its mail stays queued
  const old = makeWorkspace(serveYaml([{ role: 'submission', port: subOld }], 'auth:\n  failureDelayMs: 0'), 'postern-move-old-');
  cleanups.push(() => fs.rmSync(old.dir, { recursive: true, force: true }));
  ok(await runCli(old, ['customer', 'add', 'acme']), 'customer add');
  ok(await runCli(old, ['domain', 'add', 'example.com', '--customer', 'acme']), 'domain add');
  ok(await runCli(old, ['mailbox', 'add', 'alice@example.com', '--password-stdin'], { input: `${PASSWORD}\n` }), 'mailbox add');
  ok(await runCli(old, ['mailbox', 'grant', 'alice@example.com', '--send-as', 'orders@example.com']), 'grant');
  ok(await runCli(old, ['limits', 'set', 'customer', 'acme', '--window', 'day', '--messages', '500']), 'limit');
  const oldServer = await startServe(old, 1);
  cleanups.push(() => oldServer.stop());
  const big = 'x'.repeat(76) + '\r\n';
  const bodies = [
    ...Array.from({ length: 5 }, (_, i) => `small message ${i}`),
    big.repeat(6000), // ~480 KB: a spool file, not the row
  ];
  const t = nodemailer.createTransport({
    host: '127.0.0.1',
    port: subOld,
    requireTLS: true,
    auth: { user: 'alice@example.com', pass: PASSWORD },
    tls: { rejectUnauthorized: false },
  });
  try {
    for (const [i, text] of bodies.entries()) {
      await t.sendMail({
        from: i === 0 ? 'orders@example.com' : 'alice@example.com',
        to: [`r${i}@remote.test`, `s${i}@remote.test`],
        subject: `move ${i}`,
        text,
      });
    }
  } finally {
    t.close();
  }
  await oldServer.stop();
  assert.ok(fs.readdirSync(path.join(old.dataDir, 'spool', 'q')).length >= 1, 'the large body is a spool file');

  // the new node: PostgreSQL, delivering to a fake MX
  const db = await makeSchema('move');
  cleanups.push(() => db.drop());
  const dns = await startFakeDns({
    'remote.test': { MX: [{ preference: 10, exchange: 'mx.remote.test' }] },
    'mx.remote.test': { A: ['127.0.0.1'] },
  });
  cleanups.push(() => dns.close());
  const mx = await startFakeMx({});
  cleanups.push(() => mx.close());
  const fresh = makeWorkspace(
    serveYaml(
      [{ role: 'submission', port: subNew }],
      [
        'nodeName: node-new',
        'store:',
        '  kind: postgres',
        `  url: ${db.url}`,
        `  schema: ${db.schema}`,
        'secrets:',
        `  keyFile: ${path.join(old.dataDir, 'secrets.key')}`,
        'auth:',
        '  failureDelayMs: 0',
        'delivery:',
        '  allowLoopback: true',
        `  mxPort: ${mx.port}`,
        '  pollIntervalMs: 100',
        '  mtaSts: false',
        'dns:',
        `  servers: ["${dns.address}"]`,
      ].join('\n'),
    ),
    'postern-move-new-',
  );
  cleanups.push(() => fs.rmSync(fresh.dir, { recursive: true, force: true }));

  const dbFile = path.join(old.dataDir, 'postern.db');
  const moved = ok(await runCli(fresh, ['migrate', '--from-sqlite', dbFile]), 'migrate --from-sqlite');
  assert.match(moved.stdout, /1 customers, 1 domains, 1 mailboxes, 1 grants/);
  assert.match(moved.stdout, /6 queued messages \(1 bodies read from spool files\), 12 recipients/);
  assert.match(moved.stdout, /6 tracked messages with 6 tracking events/, 'message tracking moves too');
  refused(await runCli(fresh, ['migrate', '--from-sqlite', dbFile]), /was filled from .*postern\.db.*--force/, 'a second run');

  const node: ServeProcess = await startServe(fresh, 1);
  cleanups.push(() => node.stop());
  await until(() => mx.received.length === bodies.length, 30_000, 'every moved message delivered');
  for (const [i, text] of bodies.entries()) {
    const m = mx.received.find((r) => r.data.toString().includes(`Subject: move ${i}`));
    assert.ok(m, `message ${i} delivered`);
    assert.deepEqual([...m.to].sort(), [`r${i}@remote.test`, `s${i}@remote.test`]);
    const parsed = await parse(m.data);
    assert.equal(parsed.text?.replace(/\r?\n/g, '\n').trimEnd(), text.replace(/\r\n/g, '\n').trimEnd(), `message ${i} intact`);
  }
  // the mailbox, its password and its grant came along
  const t2 = nodemailer.createTransport({
    host: '127.0.0.1',
    port: subNew,
    requireTLS: true,
    auth: { user: 'alice@example.com', pass: PASSWORD },
    tls: { rejectUnauthorized: false },
  });
  try {
    await t2.sendMail({ from: 'orders@example.com', to: 'after@remote.test', subject: 'after the move', text: 'hello' });
  } finally {
    t2.close();
  }
  await until(() => mx.received.some((r) => r.data.toString().includes('Subject: after the move')), 10_000, 'new mail delivered');
  // a database that holds data is refused too, and --force replaces it
  refused(await runCli(fresh, ['migrate', '--from-sqlite', path.join(old.dir, 'nosuch.db')]), /no SQLite database/, 'a missing file');
  await node.stop();
  const forced = ok(await runCli(fresh, ['migrate', '--from-sqlite', dbFile, '--force']), 'migrate --force');
  assert.match(forced.stdout, /replacing what it held/);
});
