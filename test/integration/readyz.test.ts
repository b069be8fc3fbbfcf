/**
 * /readyz follows whether this node can take a message: not ready while delivery results wait
 * for a store that does not take writes, while the data folder is low on space or cannot be
 * written; ready again as soon as it can.
 */
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { startDeliveryLab, until, type DeliveryLab } from '../helpers/delivery-lab.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { webPort } from '../helpers/api.ts';

let lab: DeliveryLab | null = null;
let server: TestServer | null = null;
afterEach(async () => {
  await lab?.close();
  await server?.close();
  lab = null;
  server = null;
});

function readyz(port: number): Promise<{ status: number; checks: Record<string, string> }> {
  return new Promise((resolve, reject) => {
    https
      .get({ host: '127.0.0.1', port, path: '/readyz', rejectUnauthorized: false, agent: false }, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d: string) => {
          text += d;
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, checks: (JSON.parse(text) as { checks: Record<string, string> }).checks }),
        );
      })
      .on('error', reject);
  });
}

test('delivery results the store does not take: not ready ("store": "not taking writes") until they are written; delivered once', async () => {
  lab = await startDeliveryLab({
    'remote.test': { MX: [{ preference: 10, exchange: 'mx.remote.test' }] },
    'mx.remote.test': { A: ['127.0.0.2'] },
  });
  const mx = await lab.mx('127.0.0.2', {});
  const queue = lab.s.server.store.queue;
  const record = queue.record;
  queue.record = async () => {
    throw new Error('the store is away');
  };
  const port = webPort(lab.s);
  try {
    await lab.submit({ to: 'bob@remote.test' });
    await until(() => mx.received.length === 1, 5000, 'the delivery');
    await until(async () => (await readyz(port)).status === 503, 15_000, 'not ready');
    assert.equal((await readyz(port)).checks.store, 'not taking writes');
  } finally {
    queue.record = record;
  }
  await until(async () => (await readyz(port)).status === 200, 10_000, 'ready again');
  await until(async () => (await queue.count()) === 0, 5000, 'the result written');
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(mx.received.length, 1, 'delivered once');
});

test('the data folder: not ready when it cannot be written or is low on space, ready again when it can', async () => {
  server = await startTestServer();
  const port = webPort(server);
  assert.equal((await readyz(port)).checks.disk, 'ok');
  const probe = path.join(server.dataDir, '.readyz-probe');
  fs.mkdirSync(probe); // the probe file cannot be written
  const r = await readyz(port);
  assert.deepEqual([r.status, r.checks.disk], [503, 'cannot write']);
  fs.rmdirSync(probe);
  assert.equal((await readyz(port)).status, 200);
  await server.close();
  server = await startTestServer({ queue: { minFreeMegabytes: 1e12 } });
  const low = await readyz(webPort(server));
  assert.deepEqual([low.status, low.checks.disk], [503, 'low on disk space']);
});
