/** `postern pool assign|unassign|list|show`: egress pools from the configuration and who sends from which. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { makeWorkspace, runCli, serveYaml, ok, refused, parseJson, type Workspace } from '../helpers/cli.ts';

let ws: Workspace;
const cli = (args: string[]) => runCli(ws, args);
const POOLS = [
  'delivery:',
  '  enabled: false',
  '  defaultPool: a',
  '  pools:',
  '    a: { addresses: [127.0.0.2], helo: a.out.postern.test }',
  '    b: { addresses: [127.0.0.3, "::1"], helo: b.out.postern.test, select: round-robin, concurrency: 5 }',
].join('\n');

before(async () => {
  ws = makeWorkspace(serveYaml([{ role: 'submission', port: 10587 }], POOLS));
  ok(await cli(['customer', 'add', 'acme']), 'customer add');
  ok(await cli(['domain', 'add', 'acme.example', '--customer', 'acme']), 'domain add');
  ok(await cli(['site', 'add', 'shop', '--customer', 'acme', '--domain', 'acme.example']), 'site add');
});
after(() => fs.rmSync(ws.dir, { recursive: true, force: true }));

interface PoolRow {
  name: string;
  addresses: string[];
  helo: string;
  select: string;
  concurrency: number | null;
  isDefault: boolean;
  assignments: number;
}

test('pools are listed from delivery.pools; a customer, a domain and a site are assigned, shown and unassigned', async () => {
  assert.match(
    ok(await cli(['pool', 'assign', 'b', '--customer', 'acme']), 'assign customer').stdout,
    /customer acme \(customer acme\) sends from pool b/,
  );
  assert.match(
    ok(await cli(['pool', 'assign', 'a', '--domain', 'ACME.example']), 'assign domain').stdout,
    /domain acme\.example .* pool a/,
  );
  ok(await cli(['pool', 'assign', 'b', '--site', 'shop']), 'assign site');
  const rows = parseJson<PoolRow[]>(ok(await cli(['pool', 'list', '--json']), 'list'));
  assert.deepEqual(
    rows.map((p) => [p.name, p.addresses.join(' '), p.helo, p.select, p.concurrency, p.isDefault, p.assignments]),
    [
      ['a', '127.0.0.2', 'a.out.postern.test', 'hash', null, true, 1],
      ['b', '127.0.0.3 ::1', 'b.out.postern.test', 'round-robin', 5, false, 2],
    ],
  );
  const table = ok(await cli(['pool', 'list']), 'list table').stdout;
  assert.match(table, /a \(default\)\s+127\.0\.0\.2\s+a\.out\.postern\.test\s+hash/);
  const shown = ok(await cli(['pool', 'show', 'b']), 'show').stdout;
  assert.match(shown, /^pool b\naddresses: 127\.0\.0\.3, ::1\nhelo: b\.out\.postern\.test/);
  assert.match(shown, /customer\s+acme\s+acme/);
  assert.match(shown, /site\s+shop\s+acme/);
  ok(await cli(['pool', 'unassign', '--site', 'shop']), 'unassign');
  const json = parseJson<{ assigned: { kind: string; name: string }[] }>(ok(await cli(['pool', 'show', 'b', '--json']), 'show json'));
  assert.deepEqual(
    json.assigned.map((x) => `${x.kind}:${x.name}`),
    ['customer:acme'],
  );
});

test('bad pool commands are refused with one clear line and change nothing', async () => {
  const before = ok(await cli(['pool', 'show', 'b', '--json']), 'show').stdout;
  refused(
    await cli(['pool', 'assign', 'nope', '--customer', 'acme']),
    /no egress pool named nope in delivery\.pools \(configured: a, b\)/,
    'unknown pool',
  );
  refused(
    await cli(['pool', 'assign', 'a', '--customer', 'acme', '--domain', 'acme.example']),
    /exactly one of --customer NAME, --domain DOMAIN or --site NAME/,
    'two targets',
  );
  refused(await cli(['pool', 'assign', 'a']), /exactly one of/, 'no target');
  refused(await cli(['pool', 'assign', 'a', '--customer', 'nobody']), /no customer named nobody/, 'unknown customer');
  refused(await cli(['pool', 'assign', 'a', '--domain', 'elsewhere.example']), /no hosted domain elsewhere\.example/, 'unknown domain');
  refused(await cli(['pool', 'unassign', '--site', 'shop']), /site shop has no pool assigned/, 'nothing to unassign');
  refused(await cli(['pool', 'show', 'nope']), /no egress pool named nope/, 'show unknown');
  assert.equal(ok(await cli(['pool', 'show', 'b', '--json']), 'show').stdout, before);
});

test('config check refuses an address in two pools and a default pool that is not configured', async () => {
  const bad = makeWorkspace(
    serveYaml(
      [{ role: 'submission', port: 10587 }],
      [
        'delivery:',
        '  enabled: false',
        '  defaultPool: c',
        '  pools:',
        '    a: { addresses: [127.0.0.2], helo: a.out.postern.test }',
        '    b: { addresses: [127.0.0.2], helo: b.out.postern.test }',
      ].join('\n'),
    ),
  );
  try {
    const r = await runCli(bad, ['config', 'check']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /delivery\.pools\.b\.addresses: address 127\.0\.0\.2 is also in pool a/);
    assert.match(r.stderr, /delivery\.defaultPool: no pool named c in delivery\.pools/);
  } finally {
    fs.rmSync(bad.dir, { recursive: true, force: true });
  }
});

test('config check says whether DANE is in effect, and why not', async () => {
  const check = async (dns: string) => {
    const w = makeWorkspace(serveYaml([{ role: 'submission', port: 10587 }], dns));
    try {
      return ok(await runCli(w, ['config', 'check']), 'config check').stdout;
    } finally {
      fs.rmSync(w.dir, { recursive: true, force: true });
    }
  };
  assert.match(await check('dns:\n  servers: ["127.0.0.1:53"]'), /DANE is off: dns\.validating is not set/);
  assert.match(
    await check('dns:\n  servers: ["192.0.2.53"]\n  validating: true'),
    /DANE is off: the AD bit of 192\.0\.2\.53 is not believed \(not on loopback and not in dns\.trustedResolvers\)/,
  );
  assert.match(
    await check('dns:\n  servers: ["192.0.2.53", "[::1]:53"]\n  validating: true\n  trustedResolvers: [192.0.2.53]'),
    /DANE is on: TLSA records are looked up through 192\.0\.2\.53, ::1/,
  );
  assert.match(
    await check('dns:\n  servers: ["127.0.0.1:53"]\n  validating: true\ndelivery:\n  enabled: false\n  dane: false'),
    /DANE is off: delivery\.dane is false/,
  );
});

test('pool check prints each check with the zone-file line to publish and exits 1 when one fails', async () => {
  const { startFakeDns } = await import('../helpers/fake-dns.ts');
  const dns = await startFakeDns({ '2.0.0.127.in-addr.arpa': { PTR: ['a.out.postern.test'] }, 'a.out.postern.test': { A: ['127.0.0.2'] } });
  const w = makeWorkspace(
    serveYaml(
      [{ role: 'submission', port: 10587 }],
      [`dns:\n  servers: ["${dns.address}"]\n  timeoutMs: 300\n  tries: 1`, POOLS].join('\n'),
    ),
  );
  try {
    ok(await runCli(w, ['customer', 'add', 'acme']), 'customer add');
    ok(await runCli(w, ['domain', 'add', 'acme.example', '--customer', 'acme']), 'domain add');
    const r = await runCli(w, ['pool', 'check', 'a']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /^pool a: NOT ready/);
    assert.match(r.stdout, /\[ok  \] ptr:127\.0\.0\.2: 127\.0\.0\.2 ↔ a\.out\.postern\.test \(forward-confirmed, matches HELO\)/);
    assert.match(
      r.stdout,
      /\[FAIL\] spf:acme\.example: acme\.example has no SPF record\n\s+publish:\n\s+acme\.example\. IN TXT "v=spf1 ip4:127\.0\.0\.2 ~all"/,
    );
  } finally {
    fs.rmSync(w.dir, { recursive: true, force: true });
    await dns.close();
  }
});
