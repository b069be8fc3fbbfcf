import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import pino from 'pino';
import { createDeliverer, type DelivererDeps } from './deliver.ts';
import { createMxResolver } from './mx.ts';
import { createConnectionPool } from './pool.ts';
import type { MtaStsPolicy } from './mta-sts.ts';
import type { DeliveryJob } from '../core/index.ts';
import type { NextHop } from './deliver.ts';
import { startFakeDns, type FakeDns } from '../../test/helpers/fake-dns.ts';
import { startFakeMx } from '../../test/helpers/fake-mx.ts';
import { deliveryJob } from '../../test/helpers/delivery-job.ts';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

const BODY = 'Subject: x\r\n\r\nhello\r\n';
const job = (domain: string): DeliveryJob =>
  deliveryJob({ message: { customerId: null, size: BODY.length }, domain, lease: { owner: 'test', until: 0 } });

async function setup(opts: { policy?: MtaStsPolicy | null; route?: NextHop | null; smarthost?: boolean; tls?: boolean } = {}) {
  const mx = await startFakeMx({}, { tls: opts.tls });
  closers.push(() => mx.close());
  const dns: FakeDns = await startFakeDns({
    'd.test': {
      MX: [
        { preference: 10, exchange: 'mx.d.test' },
        { preference: 20, exchange: 'other.elsewhere.test' },
      ],
    },
    'mx.d.test': { A: ['127.0.0.1'] },
    'other.elsewhere.test': { A: ['127.0.0.1'] },
    'relay.test': { A: ['127.0.0.1'] },
  });
  closers.push(() => dns.close());
  const pool = createConnectionPool({ maxMessages: 10, idleMs: 0 });
  const deps: DelivererDeps = {
    hostname: 'out.test',
    resolver: createMxResolver({ servers: [dns.address], timeoutMs: 300, tries: 1, allowLoopback: true, allowPrivate: false }),
    routeFor: async () => opts.route ?? null,
    smarthost: opts.smarthost ? { host: 'relay.test', port: mx.port, tls: 'none' } : null,
    mtaSts: opts.policy === undefined ? null : { policyFor: async () => opts.policy ?? null },
    pool,
    mxPort: mx.port,
    body: async () => () => Readable.from([Buffer.from(BODY)]),
    timeouts: { connectMs: 1000, greetingMs: 1000, commandMs: 1000, dataMs: 1000 },
    logger: pino({ level: 'silent' }),
  };
  return { mx, deliverer: createDeliverer(deps) };
}

test('MX lookup, then delivery to the preferred host', async () => {
  const { mx, deliverer } = await setup();
  const [o] = await deliverer.deliver(job('d.test'));
  assert.equal(o!.outcome, 'delivered');
  assert.match(o!.remoteHost!, /^mx\.d\.test\[127\.0\.0\.1\]/);
  assert.equal(mx.received.length, 1);
});

test('a route wins over the MX lookup and the smarthost', async () => {
  const { mx, deliverer } = await setup({ smarthost: true, route: { host: '127.0.0.1', port: 0, tls: 'none' } });
  // port 0 is not connectable: the route (not the smarthost) was used
  const [o] = await deliverer.deliver(job('nomx.test'));
  assert.equal(o!.outcome, 'deferred');
  assert.match(o!.reply, /connect|ECONNREFUSED|EADDRNOTAVAIL|port/i);
  assert.equal(mx.received.length, 0);
});

test('the smarthost takes mail for a domain without MX records', async () => {
  const { mx, deliverer } = await setup({ smarthost: true });
  const [o] = await deliverer.deliver(job('nomx.test'));
  assert.equal(o!.outcome, 'delivered');
  assert.match(o!.remoteHost!, /^relay\.test\[127\.0\.0\.1\]/);
  assert.equal(mx.received.length, 1);
});

test('MTA-STS enforce: no MX host matches the policy → deferred 4.7.5, nothing sent', async () => {
  const { mx, deliverer } = await setup({ policy: { mode: 'enforce', mx: ['*.policy.test'], maxAge: 86400, id: '1' } });
  const [o] = await deliverer.deliver(job('d.test'));
  assert.equal(o!.outcome, 'deferred');
  assert.equal(o!.category, 'tls');
  assert.match(o!.reply, /451 4\.7\.5 no MX host of d\.test matches its MTA-STS policy/);
  assert.equal(mx.received.length, 0);
});

test('MTA-STS enforce: a listed MX without a valid certificate is not used (TLS required and verified)', async () => {
  const { mx, deliverer } = await setup({ tls: true, policy: { mode: 'enforce', mx: ['mx.d.test'], maxAge: 86400, id: '1' } });
  const [o] = await deliverer.deliver(job('d.test'));
  assert.equal(o!.outcome, 'deferred');
  assert.equal(o!.category, 'tls');
  assert.equal(mx.received.length, 0, 'self-signed certificate: nothing delivered');
});

test('MTA-STS testing: delivery goes on as without a policy', async () => {
  const { mx, deliverer } = await setup({ policy: { mode: 'testing', mx: ['*.policy.test'], maxAge: 86400, id: '1' } });
  const [o] = await deliverer.deliver(job('d.test'));
  assert.equal(o!.outcome, 'delivered');
  assert.equal(mx.received.length, 1);
});

test('DANE takes precedence over MTA-STS: an enforce policy that lists no MX host does not stop a DANE-authenticated delivery', async () => {
  const { makeChain, tlsaData } = await import('../../test/helpers/certs.ts');
  const chain = makeChain('mx.d.test');
  closers.push(async () => (await import('node:fs')).rmSync(chain.dir, { recursive: true, force: true }));
  const mx = await startFakeMx({}, { tls: true, server: { key: chain.key, cert: chain.chainPem } });
  closers.push(() => mx.close());
  const dns = await startFakeDns({ 'd.test': { MX: [{ preference: 10, exchange: 'mx.d.test' }] }, 'mx.d.test': { A: ['127.0.0.1'] } });
  closers.push(() => dns.close());
  const asked: string[] = [];
  const deliverer = createDeliverer({
    hostname: 'out.test',
    resolver: createMxResolver({ servers: [dns.address], timeoutMs: 300, tries: 1, allowLoopback: true, allowPrivate: false }),
    routeFor: async () => null,
    smarthost: null,
    mtaSts: { policyFor: async (d) => (asked.push(d), { mode: 'enforce', mx: ['*.policy.test'], maxAge: 86400, id: '1' }) },
    pool: createConnectionPool({ maxMessages: 10, idleMs: 0 }),
    mxPort: mx.port,
    body: async () => () => Readable.from([Buffer.from(BODY)]),
    timeouts: { connectMs: 1000, greetingMs: 1000, commandMs: 1000, dataMs: 1000 },
    logger: pino({ level: 'silent' }),
    dane: {
      overrides: {},
      lookup: {
        secure: async () => ({ secure: true, failed: false }),
        tlsa: async () => ({ kind: 'dane', records: [{ usage: 3, selector: 1, matchingType: 1, data: tlsaData(chain.leaf, 1, 1) }] }),
      },
    },
  });
  const [o] = await deliverer.deliver(job('d.test'));
  assert.equal(o!.outcome, 'delivered', o!.reply);
  assert.equal(mx.received.length, 1);
  assert.equal(mx.received[0]!.tls, true);
  assert.deepEqual(asked, [], 'the MTA-STS policy was not even asked for');
});

test('egress pool: its address and HELO are used, and its concurrency makes the second attempt wait for the first', async () => {
  const { createEgressPools } = await import('./egress.ts');
  const mx = await startFakeMx({}, { host: '127.0.0.1', dataDelayMs: 300 });
  closers.push(() => mx.close());
  const dns = await startFakeDns({ 'd.test': { MX: [{ preference: 10, exchange: 'mx.d.test' }] }, 'mx.d.test': { A: ['127.0.0.1'] } });
  closers.push(() => dns.close());
  const pools = createEgressPools({ p: { addresses: ['127.0.0.7'], helo: 'p.out.test', select: 'hash', concurrency: 1 } });
  const deliverer = createDeliverer({
    hostname: 'out.test',
    resolver: createMxResolver({ servers: [dns.address], timeoutMs: 300, tries: 1, allowLoopback: true, allowPrivate: false }),
    routeFor: async () => null,
    smarthost: null,
    mtaSts: null,
    pool: createConnectionPool({ maxMessages: 10, idleMs: 0 }),
    mxPort: mx.port,
    body: async () => () => Readable.from([Buffer.from(BODY)]),
    timeouts: { connectMs: 1000, greetingMs: 1000, commandMs: 1000, dataMs: 1000 },
    logger: pino({ level: 'silent' }),
    egress: { pools, poolOf: async () => 'p' },
  });
  const both = Promise.all([deliverer.deliver(job('d.test')), deliverer.deliver(job('d.test'))]);
  await new Promise((r) => setTimeout(r, 150));
  assert.deepEqual(pools.get('p')!.load(), { running: 1, waiting: 1 }, 'the second waits for a place');
  const [[a], [b]] = await both;
  assert.deepEqual([a!.outcome, b!.outcome], ['delivered', 'delivered']);
  assert.deepEqual(
    mx.received.map((m) => `${m.remoteAddress} ${m.ehlo}`),
    ['127.0.0.7 p.out.test', '127.0.0.7 p.out.test'],
  );
  assert.deepEqual(pools.get('p')!.load(), { running: 0, waiting: 0 });
});
