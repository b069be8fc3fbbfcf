/**
 * MTA-STS policies against the fake DNS server on 127.0.0.1 and a fake policy fetcher; the
 * default HTTPS fetcher against a local HTTPS server (its name resolved through the fake DNS).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { Resolver } from 'node:dns/promises';
import { createMtaSts, httpsPolicyFetcher, mxAllowed, type MtaStsPolicy } from './mta-sts.ts';
import { ensureSelfSigned } from '../listener/index.ts';
import { startFakeDns, type FakeDns, type FakeZone } from '../../test/helpers/fake-dns.ts';

const POLICY = 'version: STSv1\r\nmode: enforce\r\nmx: mx1.example.test\r\nmx: *.backup.example.test\r\nmax_age: 86400\r\n';
const ZONE: FakeZone = {
  '_mta-sts.example.test': { TXT: ['v=STSv1; id=20240101T000000;'] },
  'example.test': { TXT: ['v=spf1 -all'] },
  '_mta-sts.down.test': { behavior: 'servfail' },
  '_mta-sts.bad.test': { TXT: ['v=STSv1; id=1;'] },
  'mta-sts.example.test': { A: ['127.0.0.1'] },
  'mta-sts.other.test': { A: ['127.0.0.1'] },
};

let dns: FakeDns;
before(async () => {
  dns = await startFakeDns(ZONE);
});
after(async () => {
  await dns.close();
});

/** An MtaSts over the fake DNS with a counting fake fetcher and a movable clock. */
function setup(files: Record<string, string | null> = { 'example.test': POLICY }) {
  const calls: string[] = [];
  const errors: string[] = [];
  const clock = { t: 1_000_000 };
  const sts = createMtaSts({
    dnsServers: [dns.address],
    dnsTimeoutMs: 200,
    now: () => clock.t,
    fetchPolicy: async (domain) => {
      calls.push(domain);
      return files[domain] ?? null;
    },
    onError: (domain, err) => errors.push(`${domain}: ${err.message}`),
  });
  return { sts, calls, errors, clock, files };
}

describe('policyFor', () => {
  test('a domain without an _mta-sts TXT record has no policy', async () => {
    const { sts, calls, errors } = setup();
    assert.equal(await sts.policyFor('nothing.test'), null);
    assert.equal(await sts.policyFor('example.test.invalid'), null);
    assert.deepEqual(calls, []);
    assert.deepEqual(errors, []);
  });

  test('an enforce policy is parsed with its mx list and the TXT id', async () => {
    const { sts } = setup();
    const policy = await sts.policyFor('Example.TEST.');
    assert.deepEqual(policy, {
      mode: 'enforce',
      mx: ['mx1.example.test', '*.backup.example.test'],
      maxAge: 86400,
      id: '20240101T000000',
    } satisfies MtaStsPolicy);
  });

  test('the same id is served from the cache: one fetch, also for concurrent calls', async () => {
    const { sts, calls, clock } = setup();
    const [a, b] = await Promise.all([sts.policyFor('example.test'), sts.policyFor('example.test')]);
    clock.t += 3600_000;
    const c = await sts.policyFor('example.test');
    assert.equal(a?.mode, 'enforce');
    assert.deepEqual([b, c], [a, a]);
    assert.deepEqual(calls, ['example.test']);
  });

  test('a new TXT id fetches the policy again', async () => {
    const { sts, calls, files } = setup();
    assert.equal((await sts.policyFor('example.test'))?.mode, 'enforce');
    files['example.test'] = 'version: STSv1\nmode: testing\nmx: mx9.example.test\nmax_age: 600\n';
    dns.setZone({ ...ZONE, '_mta-sts.example.test': { TXT: ['v=STSv1; id=2;'] } });
    try {
      assert.deepEqual(await sts.policyFor('example.test'), { mode: 'testing', mx: ['mx9.example.test'], maxAge: 600, id: '2' });
      assert.equal(calls.length, 2);
    } finally {
      dns.setZone(ZONE);
    }
  });

  test('a policy past its max_age is fetched again, even with the same id', async () => {
    const { sts, calls, clock } = setup();
    await sts.policyFor('example.test');
    clock.t += 86400_000;
    assert.equal((await sts.policyFor('example.test'))?.mode, 'enforce');
    assert.equal(calls.length, 2);
  });

  test('a DNS failure keeps the cached policy; without one it is null and reported', async () => {
    const { sts, calls, errors } = setup({ 'down.test': POLICY });
    dns.setZone({ ...ZONE, '_mta-sts.down.test': { TXT: ['v=STSv1; id=7;'] } });
    const first = await sts.policyFor('down.test');
    dns.setZone(ZONE); // now SERVFAIL
    assert.deepEqual(await sts.policyFor('down.test'), first);
    assert.equal(first?.id, '7');
    assert.equal(calls.length, 1);
    assert.equal(errors.length, 1);
    assert.match(errors[0]!, /^down\.test: .*ESERVFAIL/);
    const cold = setup();
    assert.equal(await cold.sts.policyFor('down.test'), null);
    assert.equal(cold.errors.length, 1);
  });

  test('the TXT record vanishing keeps an unexpired cached policy (RFC 8461 3.3)', async () => {
    const { sts, clock } = setup();
    const policy = await sts.policyFor('example.test');
    const { '_mta-sts.example.test': _gone, ...stripped } = ZONE;
    dns.setZone(stripped);
    try {
      assert.deepEqual(await sts.policyFor('example.test'), policy);
      clock.t += 86400_000;
      assert.equal(await sts.policyFor('example.test'), null);
    } finally {
      dns.setZone(ZONE);
    }
  });

  test('an invalid policy text is no policy, reported, and not fetched again at once', async () => {
    for (const text of [
      'version: STSv1\nmode: enforce\nmax_age: 86400\n', // no mx
      'version: STSv2\nmode: enforce\nmx: a.test\nmax_age: 86400\n',
      'version: STSv1\nmode: strict\nmx: a.test\nmax_age: 86400\n',
      'version: STSv1\nmode: enforce\nmx: a.test\nmax_age: 1e3\n', // mailauth alone accepts this
      'version: STSv1\nmode: none\nmax_age:\n',
      '<html>not found</html>',
    ]) {
      const { sts, calls, errors } = setup({ 'bad.test': text });
      assert.equal(await sts.policyFor('bad.test'), null, text);
      assert.equal(await sts.policyFor('bad.test'), null, text);
      assert.equal(calls.length, 1, text);
      assert.equal(errors.length, 1, text);
    }
    const missing = setup({});
    assert.equal(await missing.sts.policyFor('bad.test'), null);
    assert.match(missing.errors[0]!, /no policy file/);
  });

  test('mode none is a policy without mx; the cache is bounded', async () => {
    const none = setup({ 'bad.test': 'version: STSv1\nmode: none\nmax_age: 60\n' });
    assert.deepEqual(await none.sts.policyFor('bad.test'), { mode: 'none', mx: [], maxAge: 60, id: '1' });
    const calls: string[] = [];
    const sts = createMtaSts({
      dnsServers: [dns.address],
      maxEntries: 1,
      fetchPolicy: async (d) => {
        calls.push(d);
        return POLICY;
      },
    });
    for (const d of ['example.test', 'bad.test', 'example.test']) await sts.policyFor(d);
    assert.deepEqual(calls, ['example.test', 'bad.test', 'example.test']);
  });
});

describe('mxAllowed', () => {
  const policy: MtaStsPolicy = { mode: 'enforce', mx: ['mail.Example.org', '*.example.com'], maxAge: 60, id: '1' };
  test('exact names and one-label wildcards, case-insensitive, trailing dot ignored', () => {
    assert.equal(mxAllowed(policy, 'mx1.example.com'), true);
    assert.equal(mxAllowed(policy, 'MX1.Example.COM.'), true);
    assert.equal(mxAllowed(policy, 'mail.example.org.'), true);
    assert.equal(mxAllowed(policy, 'a.b.example.com'), false);
    assert.equal(mxAllowed(policy, 'example.com'), false);
    assert.equal(mxAllowed(policy, '.example.com'), false);
    assert.equal(mxAllowed(policy, 'xexample.com'), false);
    assert.equal(mxAllowed(policy, 'x.mail.example.org'), false);
    assert.equal(mxAllowed(policy, ''), false);
  });
});

describe('httpsPolicyFetcher', () => {
  let server: https.Server;
  let ca: string;
  const reply = { status: 200, body: POLICY, hang: false };
  const hosts: string[] = [];
  before(async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'postern-mta-sts-'));
    const files = await ensureSelfSigned(dir, 'mta-sts.example.test');
    ca = fs.readFileSync(files.cert, 'utf8');
    server = https.createServer({ cert: ca, key: fs.readFileSync(files.key) }, (req, res) => {
      hosts.push(`${req.headers.host} ${req.url}`);
      if (reply.hang) return void res.writeHead(200).write('version: STSv1\n');
      res.writeHead(reply.status, { 'content-type': 'text/plain' }).end(reply.body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    fs.rmSync(dir, { recursive: true, force: true });
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  const fetcher = (o: { ca?: string; timeoutMs?: number } = {}) => {
    const resolver = new Resolver({ timeout: 200, tries: 1 });
    resolver.setServers([dns.address]);
    return httpsPolicyFetcher({ resolver, port: (server.address() as AddressInfo).port, ca, ...o });
  };

  test('fetches the well-known path of mta-sts.DOMAIN, resolved through the given DNS', async () => {
    assert.equal(await fetcher()('example.test'), POLICY);
    assert.match(hosts.at(-1)!, /^mta-sts\.example\.test(:\d+)? \/\.well-known\/mta-sts\.txt$/);
  });

  test('refuses an untrusted or mismatched certificate, a non-200 answer and an oversized body', async () => {
    await assert.rejects(fetcher({ ca: undefined })('example.test'), /self-signed certificate/);
    await assert.rejects(fetcher()('other.test'), /Host: mta-sts\.other\.test\. is not in the cert's altnames/);
    await assert.rejects(fetcher()('nowhere.test'), /no address|ENOTFOUND/);
    Object.assign(reply, { status: 301 });
    await assert.rejects(fetcher()('example.test'), /HTTP 301/);
    Object.assign(reply, { status: 200, body: 'x'.repeat(70 * 1024) });
    await assert.rejects(fetcher()('example.test'), /larger than 65536 bytes/);
    Object.assign(reply, { body: POLICY });
  });

  test('gives up on a server that stops answering mid-body', async () => {
    reply.hang = true;
    try {
      await assert.rejects(fetcher({ timeoutMs: 150 })('example.test'), /no complete answer within 150 ms/);
    } finally {
      reply.hang = false;
    }
  });
});
