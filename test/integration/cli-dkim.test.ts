/**
 * `postern dkim show|rotate|activate` and `postern domain check` as an operator runs them,
 * against the tests' own DNS server: what to publish, activation only once DNS shows it, and a
 * health check that says exactly what is missing.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { makeWorkspace, runCli, serveYaml, ok, refused, parseJson, type Workspace } from '../helpers/cli.ts';
import { startFakeDns, type FakeDns, type FakeZone } from '../helpers/fake-dns.ts';
import { txtStrings } from '../../src/dkim/index.ts';

let dns: FakeDns;
let ws: Workspace;
const zone: FakeZone = {
  'shop.example': { MX: [{ preference: 10, exchange: 'mx.shop.example' }], TXT: [['v=spf1 ip4:192.0.2.10 -all']] },
  '_dmarc.shop.example': { TXT: [['v=DMARC1; p=reject']] },
  '10.2.0.192.in-addr.arpa': { PTR: ['mx.postern.test'] },
  'mx.postern.test': { A: ['192.0.2.10'] },
};
const cli = (args: string[]) => runCli(ws, args);

before(async () => {
  dns = await startFakeDns(zone);
  ws = makeWorkspace(
    serveYaml(
      [{ role: 'submission', port: 10588 }],
      [
        'dns:',
        `  servers: ["${dns.address}"]`,
        '  timeoutMs: 300',
        '  tries: 1',
        'delivery:',
        '  enabled: false',
        '  publicAddresses: ["192.0.2.10"]',
      ].join('\n'),
    ),
  );
});
after(async () => {
  await dns.close();
  fs.rmSync(ws.dir, { recursive: true, force: true });
});

test('domain add makes a pending key; dkim show prints the record; activate waits for DNS; domain check explains', async () => {
  ok(await cli(['customer', 'add', 'acme']), 'customer');
  ok(await cli(['domain', 'add', 'shop.example', '--customer', 'acme']), 'domain');
  const shown = ok(await cli(['dkim', 'show', 'shop.example']), 'show').stdout;
  assert.match(shown, /^SELECTOR\s+ALGORITHM\s+STATE\s+SINCE\nr\d{8}\s+rsa-sha256\s+pending\s/);
  assert.match(shown, /\nr\d{8}\._domainkey\.shop\.example\. IN TXT "v=DKIM1; k=rsa; p=[^"]+" "[^"]+"\n$/);
  const [key] = parseJson<{ selector: string; name: string; value: string; state: string }[]>(
    ok(await cli(['dkim', 'show', 'shop.example', '--json']), 'json'),
  );

  const check1 = await cli(['domain', 'check', 'shop.example']);
  assert.equal(check1.code, 1, 'the DKIM record is not published yet');
  assert.match(check1.stdout, /\[WARN\] dkim:r\d{8}/);
  assert.match(check1.stdout, /\[FAIL\]|\[WARN\]/);

  refused(
    await cli(['dkim', 'activate', 'shop.example']),
    /the record of r\d{8} is not published \(yet\): r\d{8}\._domainkey\.shop\.example TXT "v=DKIM1; k=rsa; p=/,
    'not yet',
  );
  zone[key!.name] = { TXT: [txtStrings(key!.value)] };
  dns.setZone(zone);
  assert.match(ok(await cli(['dkim', 'activate', 'shop.example']), 'activate').stdout, /^active: r\d{8} \(rsa-sha256\)\n$/);

  const good = ok(await cli(['domain', 'check', 'shop.example', '--json']), 'check');
  const report = parseJson<{ ok: boolean; items: { id: string; status: string }[] }>(good);
  assert.equal(report.ok, true, good.stdout);
  assert.deepEqual(
    report.items.map((i) => `${i.id}:${i.status}`),
    [`dkim:${key!.selector}:ok`, 'spf:ok', 'dmarc:ok', 'mx:ok', 'ptr:192.0.2.10:ok', 'helo:ok'],
  );

  delete zone['_dmarc.shop.example'];
  dns.setZone(zone);
  const bad = await cli(['domain', 'check', 'shop.example']);
  assert.equal(bad.code, 1);
  assert.match(bad.stdout, /\[FAIL\] dmarc/);
  assert.match(bad.stdout, /_dmarc\.shop\.example\. IN TXT "v=DMARC1; p=none; rua=mailto:postmaster@shop\.example"/);
});

test('rotate makes the next key pending (one at a time); activate --force skips the DNS check; both are audited', async () => {
  const out = ok(await cli(['dkim', 'rotate', 'shop.example']), 'rotate').stdout;
  assert.match(
    out,
    /^pending key r\d{8}b \(rsa-sha256\); publish, then run postern dkim activate shop\.example:\nr\d{8}b\._domainkey\.shop\.example\. IN TXT /,
  );
  refused(await cli(['dkim', 'rotate', 'shop.example']), /already has a pending rsa-sha256 key/, 'twice');
  refused(await cli(['dkim', 'rotate', 'shop.example', '--algorithm', 'dsa']), /--algorithm must be rsa or ed25519/, 'bad algorithm');
  const forced = ok(await cli(['dkim', 'activate', 'shop.example', '--force']), 'force').stdout;
  assert.match(forced, /active: r\d{8}b \(rsa-sha256\)\nretiring: r\d{8} \(rsa-sha256\); keep its record published until it is retired/);
  const states = parseJson<{ state: string }[]>(ok(await cli(['dkim', 'show', 'shop.example', '--json']), 'show')).map((k) => k.state);
  assert.deepEqual(states, ['active', 'retiring']);
  refused(await cli(['dkim', 'activate', 'shop.example']), /has no pending key/, 'nothing pending');
  refused(await cli(['dkim', 'show', 'nosuch.example']), /no hosted domain nosuch\.example/, 'unknown domain');
  const audit = parseJson<{ action: string; before: string[]; after: string[] }[]>(
    ok(await cli(['audit', '--target', 'dkim:shop.example', '--json']), 'audit'),
  );
  assert.deepEqual(audit.map((a) => a.action).reverse(), ['activateDkim', 'rotateDkim', 'activateDkim']);
  assert.doesNotMatch(JSON.stringify(audit), /PRIVATE|BEGIN/, 'never key material');
});

test('domain dns: every record the domain needs (submission SRV, autoconfig/autodiscover, DKIM, SPF from the sending addresses, DMARC)', async () => {
  const out = ok(await cli(['domain', 'dns', 'shop.example']), 'dns').stdout;
  assert.match(
    out,
    /^_submission\._tcp\.shop\.example\. IN SRV 0 1 10588 mx\.postern\.test\.$/m,
    'the STARTTLS listener of the configuration',
  );
  assert.doesNotMatch(out, /_submissions\._tcp/, 'no implicit-TLS listener configured: no record for it');
  assert.match(out, /^autoconfig\.shop\.example\. IN CNAME mx\.postern\.test\.$/m);
  assert.match(out, /^autodiscover\.shop\.example\. IN CNAME mx\.postern\.test\.$/m);
  assert.match(out, /^r\d{8}b\._domainkey\.shop\.example\. IN TXT "v=DKIM1; k=rsa; p=/m);
  assert.match(out, /^shop\.example\. IN TXT "v=spf1 ip4:192\.0\.2\.10 ~all"$/m);
  assert.match(out, /^_dmarc\.shop\.example\. IN TXT "v=DMARC1; p=none; rua=mailto:postmaster@shop\.example"$/m);
  const json = parseJson<{ name: string; type: string }[]>(ok(await cli(['domain', 'dns', 'shop.example', '--json']), 'json'));
  assert.ok(json.some((r) => r.type === 'SRV' && r.name === '_submission._tcp.shop.example'));
});
