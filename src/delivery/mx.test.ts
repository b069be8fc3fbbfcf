import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { Resolver } from 'node:dns/promises';
import { classifyAddress, createMxResolver, orderRecords, type MxResolverOptions, type MxResult } from './mx.ts';
import { startFakeDns, type FakeDns, type FakeZone } from '../../test/helpers/fake-dns.ts';

const MANY = Array.from({ length: 1000 }, (_, i) => ({ preference: i % 3, exchange: `mx${i}.many.test` }));

const ZONE: FakeZone = {
  'example.test': {
    MX: [
      { preference: 20, exchange: 'mx3.example.test' },
      { preference: 10, exchange: 'mx1.example.test' },
      { preference: 10, exchange: 'mx2.example.test' },
    ],
    TXT: ['v=spf1 -all'],
  },
  'mx1.example.test': { A: ['127.0.0.1'], AAAA: ['::1'] },
  'mx2.example.test': { A: ['127.0.0.2'] },
  'mx3.example.test': { AAAA: ['::1'] },
  'implicit.test': { A: ['127.0.0.9'], AAAA: ['::1'], TXT: ['no mx here'] },
  'bare.test': { TXT: ['exists, but no MX and no address'] },
  'nullmx.test': { MX: [{ preference: 0, exchange: '.' }], A: ['127.0.0.1'] },
  'nullmx-empty.test': { MX: [{ preference: 0, exchange: '' }] },
  'nullmixed.test': {
    MX: [
      { preference: 0, exchange: '.' },
      { preference: 10, exchange: 'mx.skip.test' },
    ],
  },
  'down.test': { behavior: 'servfail' },
  'slow.test': { behavior: 'timeout' },
  'refused.test': { behavior: 'refused' },
  'skip.test': {
    MX: [
      { preference: 5, exchange: 'gone.skip.test' },
      { preference: 10, exchange: 'mx.skip.test' },
    ],
  },
  'mx.skip.test': { A: ['127.0.0.5'] },
  'allgone.test': {
    MX: [
      { preference: 5, exchange: 'a.nowhere.test' },
      { preference: 9, exchange: 'b.nowhere.test' },
    ],
  },
  'tempmx.test': {
    MX: [
      { preference: 5, exchange: 'down.test' },
      { preference: 9, exchange: 'b.nowhere.test' },
    ],
  },
  'halfdown.test': {
    MX: [
      { preference: 5, exchange: 'down.test' },
      { preference: 9, exchange: 'mx.skip.test' },
    ],
  },
  'private.test': { MX: [{ preference: 1, exchange: 'lan.private.test' }] },
  'lan.private.test': { A: ['10.1.2.3', '192.168.0.1', '172.16.5.5', '169.254.1.1'], AAAA: ['fd00::1', 'fe80::1'] },
  'mixed.test': {
    MX: [
      { preference: 1, exchange: 'lan.private.test' },
      { preference: 2, exchange: 'pub.mixed.test' },
    ],
  },
  'pub.mixed.test': { A: ['192.0.2.10', '127.0.0.1'], AAAA: ['2001:db8::10'] },
  'zeros.test': { A: ['0.0.0.0'], AAAA: ['::'] },
  'many.test': { MX: MANY },
  ...Object.fromEntries(MANY.map((m, i) => [m.exchange, { A: [`127.0.${Math.floor(i / 250)}.${(i % 250) + 1}`] }])),
};

let dns: FakeDns;
before(async () => {
  dns = await startFakeDns(ZONE);
});
after(async () => {
  await dns.close();
});

function resolver(over: Partial<MxResolverOptions> = {}) {
  return createMxResolver({
    servers: [dns.address],
    timeoutMs: 300,
    tries: 1,
    allowLoopback: true,
    allowPrivate: false,
    random: () => 0.5,
    ...over,
  });
}

function hosts(r: MxResult) {
  if (r.kind !== 'hosts') assert.fail(`expected hosts, got ${JSON.stringify(r)}`);
  return r.hosts;
}

function failure(r: MxResult, kind: 'fail' | 'defer', code: number, enhanced: string): string {
  if (r.kind === 'hosts') assert.fail(`expected ${kind}, got hosts ${JSON.stringify(r.hosts)}`);
  assert.deepEqual({ kind: r.kind, code: r.code, enhanced: r.enhanced }, { kind, code, enhanced }, r.text);
  return r.text;
}

/** A random() that returns the given values in turn (then repeats the last). */
function sequence(...values: number[]): () => number {
  let i = 0;
  return () => values[Math.min(i++, values.length - 1)]!;
}

describe('fake DNS server (self-test)', () => {
  test('answers MX, A, AAAA, TXT and PTR, records queries, and NODATA for a missing type', async () => {
    const r = new Resolver({ timeout: 300, tries: 1 });
    r.setServers([dns.address]);
    dns.setZone({ ...ZONE, '10.2.0.192.in-addr.arpa': { PTR: ['pub.mixed.test'] } });
    try {
      assert.deepEqual(await r.resolveTxt('example.test'), [['v=spf1 -all']]);
      assert.deepEqual(await r.resolvePtr('10.2.0.192.in-addr.arpa'), ['pub.mixed.test']);
      assert.deepEqual(await r.resolve4('mx1.example.test'), ['127.0.0.1']);
      await assert.rejects(r.resolve4('mx3.example.test'), { code: 'ENODATA' });
      await assert.rejects(r.resolve4('unknown.test'), { code: 'ENOTFOUND' });
      assert.ok(dns.queries.some((q) => q.name === 'example.test' && q.type === 'TXT' && q.transport === 'udp'));
    } finally {
      dns.setZone(ZONE);
    }
  });

  test('setZone replaces the answers', async () => {
    const r = new Resolver({ timeout: 300, tries: 1 });
    r.setServers([dns.address]);
    dns.setZone({ 'fresh.test': { A: ['127.0.0.77'] } });
    try {
      assert.deepEqual(await r.resolve4('fresh.test'), ['127.0.0.77']);
      await assert.rejects(r.resolve4('mx1.example.test'), { code: 'ENOTFOUND' });
    } finally {
      dns.setZone(ZONE);
    }
  });
});

describe('MX records', () => {
  test('preference order, each host with its IPv6 then IPv4 addresses', async () => {
    const r = hosts(await resolver({ random: sequence(0.1, 0.2, 0.3) }).resolve('example.test'));
    assert.deepEqual(r, [
      { name: 'mx1.example.test', preference: 10, addresses: ['::1', '127.0.0.1'], implicit: false },
      { name: 'mx2.example.test', preference: 10, addresses: ['127.0.0.2'], implicit: false },
      { name: 'mx3.example.test', preference: 20, addresses: ['::1'], implicit: false },
    ]);
  });

  test('random order among equal preferences, decided by opts.random', async () => {
    const names = (res: MxResult) => hosts(res).map((h) => h.name);
    // records arrive as mx3, mx1, mx2: the keys given to mx1 and mx2 decide their order
    assert.deepEqual(names(await resolver({ random: sequence(0, 0.9, 0.1) }).resolve('example.test')), [
      'mx2.example.test',
      'mx1.example.test',
      'mx3.example.test',
    ]);
    assert.deepEqual(names(await resolver({ random: sequence(0, 0.1, 0.9) }).resolve('example.test')), [
      'mx1.example.test',
      'mx2.example.test',
      'mx3.example.test',
    ]);
  });

  test('orderRecords: sorted by preference, duplicates once, shuffled only within a preference', () => {
    const recs = [
      { exchange: 'c', priority: 5 },
      { exchange: 'a', priority: 1 },
      { exchange: 'A.', priority: 1 },
      { exchange: 'b', priority: 1 },
    ];
    assert.deepEqual(
      orderRecords(recs, sequence(0.5, 0.9, 0.1)).map((r) => r.exchange),
      ['b', 'a', 'c'],
    );
    assert.deepEqual(
      orderRecords(recs, sequence(0.5, 0.1, 0.9)).map((r) => r.exchange),
      ['a', 'b', 'c'],
    );
  });

  test('the domain is case-insensitive and may end with a dot', async () => {
    assert.equal(hosts(await resolver().resolve('Example.TEST.')).length, 3);
  });

  test('hosts without any address are skipped', async () => {
    assert.deepEqual(
      hosts(await resolver().resolve('skip.test')).map((h) => h.name),
      ['mx.skip.test'],
    );
  });

  test('a host whose lookup fails temporarily is skipped when another host is usable', async () => {
    assert.deepEqual(
      hosts(await resolver().resolve('halfdown.test')).map((h) => h.name),
      ['mx.skip.test'],
    );
  });

  test('no host has an address: 550 5.4.4', async () => {
    const text = failure(await resolver().resolve('allgone.test'), 'fail', 550, '5.4.4');
    assert.match(text, /no MX host of allgone\.test has an address/);
  });

  test('no host has an address and a lookup failed temporarily: 451 4.4.3', async () => {
    failure(await resolver().resolve('tempmx.test'), 'defer', 451, '4.4.3');
  });

  test('1,000 MX records: at most maxHosts hosts, and only those are looked up (over TCP: TC bit)', async () => {
    const before = dns.queries.length;
    const r = hosts(await resolver().resolve('many.test'));
    assert.equal(r.length, 10);
    assert.ok(r.every((h) => h.preference === 0 && h.addresses.length === 1));
    const queries = dns.queries.slice(before);
    assert.ok(queries.some((q) => q.name === 'many.test' && q.type === 'MX' && q.transport === 'udp'));
    assert.ok(queries.some((q) => q.name === 'many.test' && q.type === 'MX' && q.transport === 'tcp'));
    assert.ok(queries.filter((q) => q.type === 'A' || q.type === 'AAAA').length <= 20);
    assert.equal(hosts(await resolver({ maxHosts: 3 }).resolve('many.test')).length, 3);
  });
});

describe('implicit MX, null MX and DNS failures', () => {
  test('no MX records: the domain itself (A and AAAA), marked implicit', async () => {
    assert.deepEqual(hosts(await resolver().resolve('implicit.test')), [
      { name: 'implicit.test', preference: 0, addresses: ['::1', '127.0.0.9'], implicit: true },
    ]);
  });

  test('no MX and no address: 550 5.1.2', async () => {
    const text = failure(await resolver().resolve('bare.test'), 'fail', 550, '5.1.2');
    assert.match(text, /no MX and no address/);
  });

  test('null MX (".") fails at once with 550 5.1.10 and looks up no address', async () => {
    const before = dns.queries.length;
    const text = failure(await resolver().resolve('nullmx.test'), 'fail', 550, '5.1.10');
    assert.match(text, /does not accept mail/);
    assert.deepEqual(
      dns.queries.slice(before).map((q) => q.type),
      ['MX'],
    );
  });

  test('null MX with an empty exchange: 550 5.1.10', async () => {
    failure(await resolver().resolve('nullmx-empty.test'), 'fail', 550, '5.1.10');
  });

  test('a null MX among real MX records (a misconfiguration) is ignored', async () => {
    assert.deepEqual(
      hosts(await resolver().resolve('nullmixed.test')).map((h) => h.name),
      ['mx.skip.test'],
    );
  });

  test('NXDOMAIN: 550 5.1.2', async () => {
    const text = failure(await resolver().resolve('nowhere.test'), 'fail', 550, '5.1.2');
    assert.match(text, /does not exist/);
  });

  test('SERVFAIL: 451 4.4.3', async () => {
    const text = failure(await resolver().resolve('down.test'), 'defer', 451, '4.4.3');
    assert.match(text, /ESERVFAIL/);
  });

  test('REFUSED: 451 4.4.3', async () => {
    failure(await resolver().resolve('refused.test'), 'defer', 451, '4.4.3');
  });

  test('no answer: 451 4.4.3 within the timeout', async () => {
    const started = Date.now();
    const text = failure(await resolver({ timeoutMs: 200 }).resolve('slow.test'), 'defer', 451, '4.4.3');
    assert.match(text, /ETIMEOUT/);
    assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
  });

  test('no DNS server listening: 451 4.4.3', async () => {
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
    const port = sock.address().port;
    sock.close();
    const r = createMxResolver({ servers: [`127.0.0.1:${port}`], timeoutMs: 200, tries: 1, allowLoopback: true, allowPrivate: false });
    failure(await r.resolve('example.test'), 'defer', 451, '4.4.3');
  });

  test('an invalid domain: 550 5.1.2 without a query', async () => {
    failure(await resolver().resolve(''), 'fail', 550, '5.1.2');
    failure(await resolver().resolve('bad domain.test'), 'fail', 550, '5.1.2');
  });
});

describe('address rules', () => {
  test('loopback is dropped unless allowed: 550 5.4.4 says why', async () => {
    const text = failure(await resolver({ allowLoopback: false }).resolve('example.test'), 'fail', 550, '5.4.4');
    assert.match(text, /no usable address for example\.test: .*127\.0\.0\.1 is loopback/);
    assert.match(text, /::1 is loopback/);
  });

  test('private addresses are dropped unless allowed', async () => {
    const text = failure(await resolver().resolve('private.test'), 'fail', 550, '5.4.4');
    assert.match(text, /10\.1\.2\.3 is private/);
    assert.match(text, /and 3 more/);
    const r = hosts(await resolver({ allowPrivate: true }).resolve('private.test'));
    assert.deepEqual(r[0]!.addresses, ['fd00::1', 'fe80::1', '10.1.2.3', '192.168.0.1', '172.16.5.5', '169.254.1.1']);
  });

  test('a host the operator chose (route, smarthost) may be loopback or private, by name or address', async () => {
    const strict = resolver({ allowLoopback: false, allowPrivate: false });
    assert.deepEqual(hosts(await strict.resolveHost('127.0.0.1'))[0]!.addresses, ['127.0.0.1']);
    assert.deepEqual(hosts(await strict.resolveHost('::1'))[0]!.addresses, ['::1']);
    assert.ok(hosts(await strict.resolveHost('lan.private.test'))[0]!.addresses.includes('10.1.2.3'));
    failure(await strict.resolveHost('nothing-here.test'), 'fail', 550, '5.1.2');
  });

  test('0.0.0.0 and :: count as private, even with loopback allowed', async () => {
    failure(await resolver().resolve('zeros.test'), 'fail', 550, '5.4.4');
  });

  test('public addresses stay when private and loopback ones are dropped', async () => {
    const r = hosts(await resolver({ allowLoopback: false }).resolve('mixed.test'));
    assert.deepEqual(r, [{ name: 'pub.mixed.test', preference: 2, addresses: ['2001:db8::10', '192.0.2.10'], implicit: false }]);
  });

  test('classifyAddress', () => {
    const cases: [string, string][] = [
      ['127.0.0.1', 'loopback'],
      ['127.255.0.9', 'loopback'],
      ['::1', 'loopback'],
      ['::ffff:127.0.0.1', 'loopback'],
      ['10.0.0.1', 'private'],
      ['172.16.0.1', 'private'],
      ['172.31.255.255', 'private'],
      ['192.168.1.1', 'private'],
      ['169.254.0.1', 'private'],
      ['0.0.0.0', 'private'],
      ['::', 'private'],
      ['fc00::1', 'private'],
      ['fdff::1', 'private'],
      ['fe80::1', 'private'],
      ['febf::1', 'private'],
      ['224.0.0.1', 'reserved'],
      ['255.255.255.255', 'reserved'],
      ['ff02::1', 'reserved'],
      ['172.32.0.1', 'public'],
      ['192.0.2.1', 'public'],
      ['8.8.8.8', 'public'],
      ['2001:db8::1', 'public'],
      ['fec0::1', 'public'],
      ['::ffff:192.168.0.1', 'private'],
    ];
    for (const [ip, cls] of cases) assert.equal(classifyAddress(ip), cls, ip);
  });

  test('an address literal is used as-is, without DNS, under the same rules', async () => {
    const before = dns.queries.length;
    assert.deepEqual(hosts(await resolver().resolve('[127.0.0.1]')), [
      { name: '[127.0.0.1]', preference: 0, addresses: ['127.0.0.1'], implicit: true },
    ]);
    assert.deepEqual(hosts(await resolver().resolve('[IPv6:::1]'))[0]!.addresses, ['::1']);
    assert.equal(dns.queries.length, before);
    const text = failure(await resolver({ allowLoopback: false }).resolve('[127.0.0.1]'), 'fail', 550, '5.4.4');
    assert.match(text, /127\.0\.0\.1 is loopback/);
    failure(await resolver().resolve('[10.0.0.1]'), 'fail', 550, '5.4.4');
    failure(await resolver().resolve('[not-an-ip]'), 'fail', 550, '5.1.2');
    failure(await resolver().resolve('[IPv6:127.0.0.1]'), 'fail', 550, '5.1.2');
  });
});

/** Whether this machine can bind ::1 (some containers have no IPv6 loopback). */
async function hasIpv6Loopback(): Promise<boolean> {
  const sock = dgram.createSocket('udp6');
  return new Promise((resolve) => {
    sock.once('error', () => resolve(false));
    sock.bind(0, '::1', () => {
      sock.close();
      resolve(true);
    });
  });
}

const v6 = await hasIpv6Loopback();

describe('fake DNS on ::1', () => {
  test('resolves MX through a DNS server on [::1]:PORT', { skip: v6 ? false : 'no IPv6 loopback on this machine' }, async () => {
    const dns6 = await startFakeDns(ZONE, { host: '::1' });
    try {
      assert.match(dns6.address, /^\[::1\]:\d+$/);
      const r = createMxResolver({ servers: [dns6.address], timeoutMs: 300, tries: 1, allowLoopback: true, allowPrivate: false });
      assert.equal(hosts(await r.resolve('example.test')).length, 3);
      const big = hosts(await r.resolve('many.test'));
      assert.equal(big.length, 10);
      assert.ok(
        dns6.queries.some((q) => q.transport === 'tcp'),
        'a truncated answer is retried over TCP on ::1 too',
      );
    } finally {
      await dns6.close();
    }
  });
});
