/**
 * Webhooks stay outside: a customer token cannot add an endpoint that is or resolves to an inside
 * address; one that starts resolving inside later (DNS rebinding) is refused at the send, with no
 * connection made; allowed networks work through the checked address; and the delivery log a
 * customer reads never tells a closed port from a TLS service.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { createAdminClient } from '../helpers/admin-api.ts';
import { startFakeDns } from '../helpers/fake-dns.ts';
import { startReceiver } from '../helpers/webhook-receiver.ts';
import { until } from '../helpers/delivery-lab.ts';
import { NOT_PUBLIC } from '../../src/webhooks/index.ts';
import { ensureSelfSigned } from '../../src/listener/selfsigned.ts';

const dns = await startFakeDns({
  'internal.test': { A: ['10.20.30.40'] },
  'metadata.test': { A: ['169.254.169.254'] },
  'ula.test': { AAAA: ['fd00::25'] },
});
const servers: TestServer[] = [];
after(async () => {
  for (const s of servers) await s.close();
  await dns.close();
});

async function start(allowNetworks: string[]): Promise<TestServer> {
  const s = await startTestServer({
    dns: { servers: [dns.address], timeoutMs: 500, tries: 1 },
    webhooks: { allowInsecure: true, allowNetworks, retrySeconds: [60], pollIntervalMs: 50, timeoutSeconds: 1 },
  });
  servers.push(s);
  await s.admin.addCustomer('acme');
  return s;
}

const lastOf = async (s: TestServer, id: string) => (await s.admin.webhookLog({ endpoint: id }))[0];

test('adding: loopback, private, link-local and unique-local endpoints are refused, by address or by name', async () => {
  const s = await start([]);
  const api = createAdminClient(s);
  const token = (await s.admin.addToken('acme-panel', { customer: 'acme' })).token;
  for (const url of [
    'https://127.0.0.1:8443/api/v1/messages',
    'https://[::1]/x',
    'https://10.0.0.8/x',
    'https://169.254.169.254/latest/meta-data/',
    'https://internal.test/hook',
    'https://metadata.test/',
    'https://ula.test/',
    'https://[::ffff:127.0.0.1]/',
  ]) {
    const r = await api.expect(422, 'post', '/webhooks', { token, body: { url } });
    assert.match(r.json.detail, /refused: not a public address/, url);
  }
  assert.deepEqual(await s.admin.listWebhooks('acme'), [], 'nothing was added');
});

test('a name that resolves inside only after it was added is refused at the send: no request, and the log says only that', async () => {
  const s = await start([]);
  const rx = await startReceiver();
  try {
    dns.setZone({ 'rebind.test': { A: [] } }); // does not resolve yet: taken, checked at every send
    const { endpoint } = await s.admin.addWebhook({ customer: 'acme', url: `http://rebind.test:${rx.port}/hook` });
    dns.setZone({ 'rebind.test': { A: ['127.0.0.1'] } });
    await s.admin.testWebhook(endpoint.id);
    await until(async () => (await lastOf(s, endpoint.id))?.attempts === 1, 5000, 'the attempt');
    const d = (await lastOf(s, endpoint.id))!;
    assert.equal(d.lastError, NOT_PUBLIC);
    assert.equal(d.lastStatus, null);
    assert.equal(rx.received.length, 0, 'no connection to the inside address');
    const line = s.logs.find((l) => l.evt === 'webhook' && l.endpoint === endpoint.id);
    assert.match(String(line?.detail), /127\.0\.0\.1/, 'the operator log says which address');
  } finally {
    await rx.close();
  }
});

test('an allowed network: the request goes to the checked address of the name; closed port and TLS service look the same', async () => {
  const s = await start(['127.0.0.0/8']);
  const rx = await startReceiver(() => 404);
  // a TLS service and a closed port on loopback
  const pair = await ensureSelfSigned(path.join(s.dataDir, 'tls'), 'mx.postern.test');
  const tlsService = tls.createServer({ key: fs.readFileSync(pair.key), cert: fs.readFileSync(pair.cert) }, (c) => c.destroy());
  await new Promise<void>((r) => tlsService.listen(0, '127.0.0.1', r));
  const closed = net.createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const closedPort = (closed.address() as net.AddressInfo).port;
  await new Promise<void>((r) => closed.close(() => r()));
  try {
    dns.setZone({ 'hooks.test': { A: ['127.0.0.1'] } });
    // hooks.test is known only to the test DNS server: the request can only have gone to the address checked there
    const ok = await s.admin.addWebhook({ customer: 'acme', url: `http://hooks.test:${rx.port}/hook` });
    const tlsHook = await s.admin.addWebhook({
      customer: 'acme',
      url: `https://127.0.0.1:${(tlsService.address() as net.AddressInfo).port}/api`,
    });
    const closedHook = await s.admin.addWebhook({ customer: 'acme', url: `https://127.0.0.1:${closedPort}/api` });
    for (const h of [ok, tlsHook, closedHook]) await s.admin.testWebhook(h.endpoint.id);
    await until(
      async () => {
        for (const h of [ok, tlsHook, closedHook]) if ((await lastOf(s, h.endpoint.id))?.attempts !== 1) return false;
        return true;
      },
      8000,
      'three attempts',
    );
    assert.equal(rx.received.length, 1);
    assert.equal(rx.received[0]!.headers.host, `hooks.test:${rx.port}`);
    const answered = (await lastOf(s, ok.endpoint.id))!;
    assert.deepEqual([answered.lastStatus, answered.lastError], [404, 'HTTP 404']);
    const a = (await lastOf(s, tlsHook.endpoint.id))!;
    const b = (await lastOf(s, closedHook.endpoint.id))!;
    assert.equal(a.lastError, 'no HTTP response');
    assert.equal(b.lastError, a.lastError, 'a closed port and a TLS service read the same');
  } finally {
    await rx.close();
    await new Promise<void>((r) => tlsService.close(() => r()));
  }
});
