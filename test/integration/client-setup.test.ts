/**
 * What mail programs are told, over the real HTTPS listener: Thunderbird autoconfig (checked
 * against the fields Thunderbird reads, parsed by Python's XML parser), Outlook Autodiscover
 * (the POX response's required elements), the Apple profile (parsed by Python's plistlib), and
 * 404 for every name that is not a hosted domain.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import https from 'node:https';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { webPort } from '../helpers/api.ts';

let s: TestServer;

before(async () => {
  s = await startTestServer({
    listeners: [
      { role: 'submission', port: 0, host: '127.0.0.1' },
      { role: 'submissions', port: 0, host: '127.0.0.1' },
      { role: 'submission', port: 0, host: '127.0.0.1' },
      { role: 'mx', port: 0, host: '127.0.0.1', greetingDelayMs: 0 },
    ],
    clients: {
      host: 'smtp.provider.test',
      provider: 'Provider Mail',
      incoming: [{ protocol: 'imap', host: 'imap.provider.test', port: 993, security: 'SSL/TLS' }],
    },
  });
  await s.addMailbox('alice@example.com', 'alice-secret-1');
});
after(() => s.close());

/** The bound ports: implicit TLS first, then the STARTTLS ones in listener order (none is 587 or 2525 here). */
const ports = () => {
  const bound = s.server.listeners.map((l) => ({ role: l.config.role, port: l.address()!.port }));
  const implicit = bound.filter((b) => b.role === 'submissions').map((b) => b.port);
  const starttls = bound
    .filter((b) => b.role === 'submission')
    .map((b) => b.port)
    .sort((a, b) => a - b);
  return { implicit, starttls };
};

function get(
  path: string,
  o: { host?: string; method?: string; body?: string } = {},
): Promise<{ status: number; type: string; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port: webPort(s),
        path,
        method: o.method ?? 'GET',
        rejectUnauthorized: false,
        headers: {
          host: o.host ?? `127.0.0.1:${webPort(s)}`,
          ...(o.body ? { 'content-type': 'text/xml', 'content-length': Buffer.byteLength(o.body) } : {}),
        },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => {
          body += d;
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), body, headers: res.headers }),
        );
      },
    );
    req.on('error', reject);
    req.end(o.body);
  });
}

/** Parses XML with Python's parser and returns what the script prints (JSON). */
function py(script: string, input: string): unknown {
  return JSON.parse(execFileSync('python3', ['-c', script], { input }).toString());
}

const THUNDERBIRD = `
import sys, json, xml.etree.ElementTree as ET
root = ET.fromstring(sys.stdin.read())
assert root.tag == 'clientConfig' and root.get('version') == '1.1'
p = root.find('emailProvider')
def server(e):
    return {k: e.findtext(k) for k in ('hostname', 'port', 'socketType', 'username', 'authentication')} | {'type': e.get('type')}
print(json.dumps({'id': p.get('id'), 'domain': p.findtext('domain'), 'displayName': p.findtext('displayName'),
  'incoming': [server(e) for e in p.findall('incomingServer')], 'outgoing': [server(e) for e in p.findall('outgoingServer')],
  'doc': p.find('documentation').get('url')}))
`;

test('Thunderbird autoconfig on both paths: incoming from the config, then every submission port in order of preference', async () => {
  const { implicit, starttls } = ports();
  for (const [path, host] of [
    ['/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=alice%40example.com', undefined],
    ['/mail/config-v1.1.xml?emailaddress=alice%40example.com', 'autoconfig.example.com'],
    ['/mail/config-v1.1.xml', 'autoconfig.example.com'],
  ] as [string, string | undefined][]) {
    const r = await get(path, { host });
    assert.equal(r.status, 200, path);
    assert.match(r.type, /^application\/xml/);
    const c = py(THUNDERBIRD, r.body) as {
      id: string;
      domain: string;
      displayName: string;
      incoming: Record<string, string>[];
      outgoing: Record<string, string>[];
      doc: string;
    };
    assert.equal(c.domain, 'example.com');
    assert.equal(c.displayName, 'Provider Mail');
    assert.deepEqual(c.incoming, [
      {
        type: 'imap',
        hostname: 'imap.provider.test',
        port: '993',
        socketType: 'SSL',
        username: '%EMAILADDRESS%',
        authentication: 'password-cleartext',
      },
    ]);
    assert.deepEqual(
      c.outgoing.map((o) => [o.type, o.hostname, Number(o.port), o.socketType, o.username, o.authentication]),
      [
        ...implicit.map((p) => ['smtp', 'smtp.provider.test', p, 'SSL', '%EMAILADDRESS%', 'password-cleartext']),
        ...starttls.map((p) => ['smtp', 'smtp.provider.test', p, 'STARTTLS', '%EMAILADDRESS%', 'password-cleartext']),
      ],
    );
    assert.match(c.doc, /\/settings\?domain=example\.com$/);
  }
});

test('not a hosted domain: 404, the same answer for every such name (no enumeration)', async () => {
  const a = await get('/mail/config-v1.1.xml?emailaddress=x%40other.test');
  const b = await get('/mail/config-v1.1.xml', { host: 'autoconfig.nosuch.test' });
  const c = await get('/.well-known/autoconfig/mail/config-v1.1.xml', { host: '127.0.0.1' });
  assert.deepEqual([a.status, b.status, c.status], [404, 404, 404]);
  assert.equal(a.body, b.body);
  assert.equal((await get('/settings?domain=other.test')).status, 404);
  assert.equal((await get('/settings/profile.mobileconfig?email=x%40other.test')).status, 404);
  const ad = await get('/autodiscover/autodiscover.xml', { method: 'POST', body: pox('x@other.test') });
  assert.equal(ad.status, 404);
});

function pox(address: string): string {
  return `<?xml version="1.0" encoding="utf-8"?><Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"><Request><EMailAddress>${address}</EMailAddress><AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema></Request></Autodiscover>`;
}

const OUTLOOK = `
import sys, json, xml.etree.ElementTree as ET
R = '{http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006}'
A = '{http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a}'
root = ET.fromstring(sys.stdin.read())
assert root.tag == R + 'Autodiscover', root.tag
acc = root.find(A + 'Response').find(A + 'Account')
print(json.dumps({'type': acc.findtext(A + 'AccountType'), 'action': acc.findtext(A + 'Action'),
  'protocols': [{k: p.findtext(A + k) for k in ('Type', 'Server', 'Port', 'LoginName', 'SPA', 'SSL', 'Encryption', 'AuthRequired', 'DomainRequired')} for p in acc.findall(A + 'Protocol')]}))
`;

test('Outlook Autodiscover (POX): answers for the requested address with the required elements; bad requests get the POX error', async () => {
  const { implicit } = ports();
  for (const path of ['/autodiscover/autodiscover.xml', '/Autodiscover/Autodiscover.xml']) {
    const r = await get(path, { method: 'POST', body: pox('Alice@Example.com'), host: 'autodiscover.example.com' });
    assert.equal(r.status, 200, path);
    const a = py(OUTLOOK, r.body) as { type: string; action: string; protocols: Record<string, string>[] };
    assert.equal(a.type, 'email');
    assert.equal(a.action, 'settings');
    assert.deepEqual(a.protocols, [
      {
        Type: 'IMAP',
        Server: 'imap.provider.test',
        Port: '993',
        LoginName: 'Alice@Example.com',
        SPA: 'off',
        SSL: 'on',
        Encryption: 'SSL',
        AuthRequired: 'on',
        DomainRequired: 'off',
      },
      {
        Type: 'SMTP',
        Server: 'smtp.provider.test',
        Port: String(implicit[0]),
        LoginName: 'Alice@Example.com',
        SPA: 'off',
        SSL: 'on',
        Encryption: 'SSL',
        AuthRequired: 'on',
        DomainRequired: 'off',
      },
    ]);
  }
  const unknownMailbox = await get('/autodiscover/autodiscover.xml', { method: 'POST', body: pox('nobody@example.com') });
  assert.equal(unknownMailbox.status, 200, 'a hosted domain answers for any address: whether a mailbox exists is not revealed');
  const bad = await get('/autodiscover/autodiscover.xml', { method: 'POST', body: '<nonsense/>' });
  assert.equal(bad.status, 400);
  assert.match(bad.body, /<ErrorCode>600<\/ErrorCode>/);
  // a body past 64 KiB is not read on (chunked, without Content-Length)
  const huge = await new Promise<number>((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port: webPort(s),
        path: '/autodiscover/autodiscover.xml',
        method: 'POST',
        rejectUnauthorized: false,
        headers: { 'content-type': 'text/xml' },
      },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    req.write(pox('alice@example.com'));
    req.end('<!--' + 'x'.repeat(100_000) + '-->');
  });
  assert.equal(huge, 400);
});

test('Apple profile: a well-formed plist (plistlib) with the mailbox, its servers and no password; only with an incoming server', async () => {
  const r = await get('/settings/profile.mobileconfig?email=alice%40example.com');
  assert.equal(r.status, 200);
  assert.match(r.type, /^application\/x-apple-aspen-config/);
  assert.match(String(r.headers['content-disposition']), /attachment; filename="example\.com\.mobileconfig"/);
  const p = py(
    `
import sys, json, plistlib
d = plistlib.loads(sys.stdin.buffer.read())
print(json.dumps(d, default=str))`,
    r.body,
  ) as { PayloadType: string; PayloadUUID: string; PayloadContent: Record<string, unknown>[] };
  assert.equal(p.PayloadType, 'Configuration');
  const m = p.PayloadContent[0]!;
  assert.equal(m.PayloadType, 'com.apple.mail.managed');
  assert.equal(m.EmailAddress, 'alice@example.com');
  assert.equal(m.OutgoingMailServerHostName, 'smtp.provider.test');
  assert.equal(m.OutgoingMailServerPortNumber, ports().implicit[0]);
  assert.equal(m.OutgoingMailServerUseSSL, true);
  assert.equal(m.OutgoingMailServerUsername, 'alice@example.com');
  assert.equal(m.IncomingMailServerHostName, 'imap.provider.test');
  assert.equal('IncomingPassword' in m || 'OutgoingPassword' in m, false, 'no password in the profile: the device asks for it');
  const again = await get('/settings/profile.mobileconfig?email=alice%40example.com');
  assert.equal(again.body, r.body, 'the same profile again (stable UUIDs replace the account instead of adding one)');
});
