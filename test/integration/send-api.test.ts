/**
 * The HTTP send API over real HTTPS: raw and JSON bodies, site tokens and mailbox logins, and
 * every refusal as an RFC 9457 problem carrying the SMTP reply; the same walls as SMTP AUTH.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import net from 'node:net';
import { simpleParser } from 'mailparser';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { apiPost, webPort } from '../helpers/api.ts';

let s: TestServer;
let shop: string; // token of site shop (acme): orders@shop.example
let blog: string; // token of site blog (acme): any address @blog.example

before(async () => {
  s = await startTestServer();
  await s.addMailbox('alice@shop.example', 'alice-secret-1');
  await s.admin.addDomain('blog.example', 'acme');
  await s.addMailbox('bob@other.example', 'bob-secret-11', 'other');
  shop = (await s.admin.addSite('shop', { customer: 'acme', unixUser: 'shopweb', sendAs: ['orders@shop.example'] })).token;
  blog = (await s.admin.addSite('blog', { customer: 'acme', domain: ['blog.example'] })).token;
});
after(() => s.close());

const raw = (from: string, extra = '') =>
  `From: Shop <${from}>\r\nTo: Customer <c1@remote.test>\r\nCc: c2@remote.test\r\nBcc: hidden@remote.test\r\nSubject: Order 42\r\n${extra}\r\nThank you.\r\n`;

test('raw message with a site token: 202 with the queue id; envelope from the header (-t), Bcc removed, Received names the site', async () => {
  const r = await apiPost(s, { auth: { token: shop }, body: raw('orders@shop.example') });
  assert.equal(r.status, 202, JSON.stringify(r.json));
  assert.equal(r.json.status, 'queued');
  assert.equal(r.json.sender, 'orders@shop.example');
  assert.deepEqual(r.json.recipients, ['c1@remote.test', 'c2@remote.test', 'hidden@remote.test']);
  const m = (await s.server.store.queue.get(r.json.id as string))!;
  assert.equal(m.siteName, 'shop');
  assert.equal(m.customerName, 'acme');
  assert.equal(m.listener, 'api');
  const body = (await s.body(m.id)).toString();
  assert.doesNotMatch(body, /^Bcc:/im);
  assert.match(body, /^Received: from api \(\[127\.0\.0\.1\]\)\r\n\tby mx\.postern\.test \(Postern\) with HTTPS id /);
  assert.match(body, /\(site shop, unix user shopweb\)/);
  assert.match(body, /^Message-ID: </im);
});

test('raw message with envelope in the query: explicit recipients only, unless extract', async () => {
  const r = await apiPost(s, {
    auth: { token: shop },
    body: raw('orders@shop.example'),
    query: { from: 'orders@shop.example', to: ['x@remote.test', 'y@remote.test'] },
  });
  assert.equal(r.status, 202);
  assert.deepEqual(r.json.recipients, ['x@remote.test', 'y@remote.test']);
  const t = await apiPost(s, { auth: { token: shop }, body: raw('orders@shop.example'), query: { to: 'x@remote.test', extract: '1' } });
  assert.deepEqual(t.json.recipients, ['x@remote.test', 'c1@remote.test', 'c2@remote.test', 'hidden@remote.test']);
});

test('JSON body: to, cc, bcc, subject, text, html, attachments and headers become a MIME message', async () => {
  const r = await apiPost(s, {
    auth: { token: blog },
    body: {
      from: 'News <news@blog.example>',
      to: 'a@remote.test',
      cc: ['b@remote.test'],
      bcc: 'c@remote.test',
      subject: 'Héllo',
      text: 'plain',
      html: '<p>html</p>',
      headers: { 'X-Campaign': '7' },
      attachments: [{ filename: 'a.txt', content: Buffer.from('attached').toString('base64'), contentType: 'text/plain' }],
    },
  });
  assert.equal(r.status, 202, JSON.stringify(r.json));
  assert.equal(r.json.sender, 'news@blog.example');
  assert.deepEqual(r.json.recipients, ['a@remote.test', 'b@remote.test', 'c@remote.test']);
  const parsed = await simpleParser(await s.body(r.json.id as string));
  assert.equal(parsed.subject, 'Héllo');
  assert.equal(parsed.text?.trim(), 'plain');
  assert.equal(parsed.html, '<p>html</p>');
  assert.equal(parsed.headers.get('x-campaign'), '7');
  assert.equal(parsed.headers.has('bcc'), false);
  assert.equal(parsed.attachments[0]?.content.toString(), 'attached');
});

test('a mailbox login (Basic) sends as the mailbox, with the mailbox walls', async () => {
  const ok = await apiPost(s, {
    auth: { user: 'alice@shop.example', pass: 'alice-secret-1' },
    body: { from: 'alice@shop.example', to: 'x@remote.test', text: 'hi' },
  });
  assert.equal(ok.status, 202, JSON.stringify(ok.json));
  const m = (await s.server.store.queue.get(ok.json.id as string))!;
  assert.equal(m.authUser, 'alice@shop.example');
  assert.equal(m.siteName, null);
  const bad = await apiPost(s, {
    auth: { user: 'alice@shop.example', pass: 'wrong-password' },
    body: { from: 'alice@shop.example', to: 'x@remote.test' },
  });
  assert.equal(bad.status, 401);
  assert.match(String(bad.headers['www-authenticate']), /Bearer realm="postern", Basic realm="postern"/);
  assert.equal(bad.json.type, 'urn:postern:problem:auth');
  const spoof = await apiPost(s, {
    auth: { user: 'alice@shop.example', pass: 'alice-secret-1' },
    body: { from: 'bob@other.example', to: 'x@remote.test' },
  });
  assert.equal(spoof.status, 403);
  assert.match(String(spoof.json.smtp), /^553 5\.7\.1 Sender address <bob@other\.example> is not allowed for this login/);
});

test('refusals: each a problem with the reason an SMTP client would get, and nothing queued', async () => {
  const before = await s.server.store.queue.count();
  const cases: [string, Parameters<typeof apiPost>[1], number, RegExp | null, string][] = [
    ['no credentials', { body: raw('orders@shop.example') }, 401, null, 'auth'],
    ['unknown token', { auth: { token: 'pst_' + 'A'.repeat(43) }, body: raw('orders@shop.example') }, 401, null, 'auth'],
    [
      'envelope sender of another customer',
      { auth: { token: shop }, body: raw('bob@other.example') },
      403,
      /^553 5\.7\.1 Sender address <bob@other\.example> is not allowed for site shop$/,
      'send-as',
    ],
    [
      'honest envelope, forged From',
      { auth: { token: shop }, body: raw('bob@other.example'), query: { from: 'orders@shop.example' } },
      403,
      /^550 5\.7\.1 From: <bob@other\.example> is not an address site shop may send as$/,
      'send-as',
    ],
    [
      "an address of the site's own customer it was not granted",
      { auth: { token: shop }, body: raw('alice@shop.example') },
      403,
      /^553 5\.7\.1 /,
      'send-as',
    ],
    [
      'the null sender',
      { auth: { token: shop }, body: raw('orders@shop.example'), query: { from: '<>' } },
      403,
      /^553 5\.7\.1 The null sender/,
      'send-as',
    ],
    [
      'no recipients',
      { auth: { token: shop }, body: 'From: orders@shop.example\r\nSubject: x\r\n\r\nx\r\n' },
      400,
      /^554 5\.5\.1 /,
      'recipient',
    ],
    [
      'a bad recipient',
      { auth: { token: shop }, body: raw('orders@shop.example'), query: { to: 'not an address' } },
      400,
      /^553 5\.1\.3 /,
      'recipient',
    ],
    [
      'an mbox From_ line',
      { auth: { token: shop }, body: `From someone Sat Nov 28 04:00:00 2026\r\n${raw('orders@shop.example')}` },
      422,
      /^550 5\.6\.0 /,
      'data',
    ],
    ['invalid JSON', { auth: { token: shop }, type: 'application/json', body: '{"from":' }, 400, null, 'bad-request'],
    ['other media type', { auth: { token: shop }, type: 'text/plain', body: 'hello' }, 415, null, 'bad-request'],
  ];
  for (const [what, req, status, smtp, reason] of cases) {
    const r = await apiPost(s, req);
    assert.equal(r.status, status, `${what}: ${JSON.stringify(r.json)}`);
    assert.match(String(r.headers['content-type']), /^application\/problem\+json/, what);
    assert.equal(r.json.reason, reason, what);
    assert.equal(r.json.status, status, what);
    assert.equal(typeof r.json.title, 'string', what);
    if (smtp) assert.match(String(r.json.smtp), smtp, what);
    assert.doesNotMatch(
      JSON.stringify(r.json),
      /orders@shop\.example.*allowed|\bat \w+ \(/,
      `${what}: never lists what is allowed, never a trace`,
    );
  }
  const schema = await apiPost(s, {
    auth: { token: shop },
    body: { from: 'orders@shop.example', to: 5, attachments: [{ filename: 'x' }] },
  });
  assert.equal(schema.status, 400);
  assert.deepEqual(schema.json.errors?.map((e) => e.path).sort(), ['attachments.0.content', 'to']);
  const notAddress = await apiPost(s, {
    auth: { token: blog },
    body: { from: 'news@blog.example', to: 'not an address', subject: 'x', text: 'x' },
  });
  assert.equal(notAddress.status, 400, 'an entry that is not an address is named, not dropped ("No recipients")');
  assert.equal(notAddress.json.reason, 'recipient');
  assert.equal(notAddress.json.smtp, '553 5.1.3 Recipient address <not an address> is not a valid address');
  assert.deepEqual(notAddress.json.errors, [{ path: 'to.0', message: '"not an address" is not a mail address (local-part@domain)' }]);
  const several = await apiPost(s, {
    auth: { token: blog },
    body: { from: 'News <news@>', to: ['ok@remote.test', 'A <a@>'], cc: 'x@remote.test, nope', text: 'x' },
  });
  assert.equal(several.status, 400);
  assert.deepEqual(
    several.json.errors?.map((e) => e.path),
    ['from', 'to.1', 'cc.0'],
    'every bad entry, the good ones not',
  );
  assert.match(String(several.json.smtp), /^553 5\.1\.7 Sender address <news@> /);
  assert.equal(await s.server.store.queue.count(), before, 'nothing queued by any refusal');
});

test('too large: 413 with 552 5.3.4, for raw and JSON bodies', async () => {
  const g = await startTestServer({ smtp: { maxMessageSize: 4096 } });
  try {
    await g.addMailbox('alice@shop.example', 'alice-secret-1');
    const token = (await g.admin.addSite('shop', { customer: 'acme', sendAs: ['orders@shop.example'] })).token;
    const rawBig = await apiPost(g, { auth: { token }, body: raw('orders@shop.example') + 'x'.repeat(8000) + '\r\n' });
    assert.equal(rawBig.status, 413);
    assert.match(String(rawBig.json.smtp), /^552 5\.3\.4 /);
    const jsonBig = await apiPost(g, {
      auth: { token },
      body: { from: 'orders@shop.example', to: 'x@remote.test', text: 'y'.repeat(20_000) },
    });
    assert.equal(jsonBig.status, 413);
    assert.equal(await g.server.store.queue.count(), 0);
  } finally {
    await g.close();
  }
});

test('a site over its limit is deferred (429, Retry-After, 451 4.7.1) while another site of the customer still sends; the customer limit stops both', async () => {
  const t0 = Date.parse('2026-11-28T10:15:00Z');
  let now = t0;
  const g = await startTestServer({}, { clock: { now: () => now } });
  try {
    await g.addMailbox('alice@shop.example', 'alice-secret-1');
    await g.admin.addDomain('blog.example', 'acme');
    const a = (await g.admin.addSite('shop', { customer: 'acme', sendAs: ['orders@shop.example'] })).token;
    const b = (await g.admin.addSite('blog', { customer: 'acme', domain: ['blog.example'] })).token;
    await g.admin.setLimit('site', 'shop', { window: 'hour', messages: 2, action: 'defer' });
    await g.admin.setLimit('customer', 'acme', { window: 'hour', messages: 4, action: 'defer' });
    const send = (token: string, from: string) => apiPost(g, { auth: { token }, body: { from, to: 'x@remote.test', text: 'x' } });
    assert.equal((await send(a, 'orders@shop.example')).status, 202);
    assert.equal((await send(a, 'orders@shop.example')).status, 202, 'the 2nd of 2 passes');
    const over = await send(a, 'orders@shop.example');
    assert.equal(over.status, 429);
    assert.equal(over.json.reason, 'limit');
    assert.match(
      String(over.json.smtp),
      /^451 4\.7\.1 Sending limit reached: 2 messages per hour for site shop \(defer\); try again after 2026-11-28T11:00:00Z$/,
    );
    assert.equal(over.headers['retry-after'], String(45 * 60));
    assert.equal((await send(b, 'news@blog.example')).status, 202, 'the other site still sends');
    assert.equal((await send(b, 'news@blog.example')).status, 202, 'the 4th message of the customer passes');
    const customer = await send(b, 'news@blog.example');
    assert.equal(customer.status, 429, 'the customer limit stops the other site too');
    assert.match(String(customer.json.smtp), /for customer acme/);
    now = Date.parse('2026-11-28T11:00:00Z');
    assert.equal((await send(a, 'orders@shop.example')).status, 202, 'a new window');
    const shown = await g.admin.showLimits('site', 'shop');
    assert.deepEqual(
      shown.filter((r) => r.target === 'shop').map((r) => [r.metric, r.max, r.usage]),
      [['messages', 2, 1]],
    );
  } finally {
    await g.close();
  }
});

test('the send API is TLS only: plain HTTP on its port gets no answer', async () => {
  const text = await new Promise<string>((resolve) => {
    const sock = net.connect(webPort(s), '127.0.0.1', () =>
      sock.write('POST /api/v1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n'),
    );
    let got = '';
    sock.on('data', (d) => {
      got += d.toString('latin1');
    });
    sock.on('close', () => resolve(got));
    sock.on('error', () => resolve(got));
  });
  assert.doesNotMatch(text, /^HTTP\/1\.1 2/, 'no HTTP answer over plain TCP');
  // and TLS below 1.2 is refused
  await assert.rejects(
    new Promise((resolve, reject) => {
      const req = https.request(
        {
          host: '127.0.0.1',
          port: webPort(s),
          method: 'GET',
          path: '/',
          rejectUnauthorized: false,
          maxVersion: 'TLSv1.1',
          minVersion: 'TLSv1',
        },
        resolve,
      );
      req.on('error', reject);
      req.end();
    }),
  );
});

test('the sendmail socket takes site tokens only (no logins), and answers problems the same way', async () => {
  const login = await apiPost(s, {
    socket: true,
    auth: { user: 'alice@shop.example', pass: 'alice-secret-1' },
    body: raw('alice@shop.example'),
  });
  assert.equal(login.status, 401);
  const ok = await apiPost(s, { socket: true, auth: { token: shop }, body: raw('orders@shop.example') });
  assert.equal(ok.status, 202);
  const m = (await s.server.store.queue.get(ok.json.id as string))!;
  assert.equal(m.listener, 'sendmail');
  assert.match((await s.body(m.id)).toString(), /with LOCAL id/);
});

test('hold: a site over a hold limit is accepted into the hold queue (202 held), up to the held cap (then 429)', async () => {
  const g = await startTestServer({ containment: { maxHeldPerMailbox: 1 } });
  try {
    await g.addMailbox('alice@shop.example', 'alice-secret-1');
    const token = (await g.admin.addSite('shop', { customer: 'acme', sendAs: ['orders@shop.example'] })).token;
    await g.admin.setLimit('site', 'shop', { window: 'day', messages: 1, action: 'hold' });
    const send = () => apiPost(g, { auth: { token }, body: { from: 'orders@shop.example', to: 'x@remote.test', text: 'x' } });
    assert.equal((await send()).json.status, 'queued');
    const held = await send();
    assert.equal(held.status, 202);
    assert.equal(held.json.status, 'held');
    assert.equal((await g.server.store.queue.get(held.json.id as string))!.state, 'held');
    const full = await send();
    assert.equal(full.status, 429);
    assert.equal(full.json.reason, 'hold');
    assert.match(String(full.json.smtp), /^451 4\.7\.1 Too much mail of this site is waiting for the postmaster/);
  } finally {
    await g.close();
  }
});

test('the HTTPS listener has a per-address connection gate like the SMTP listeners', async () => {
  const g = await startTestServer({ web: { port: 0, host: '127.0.0.1', maxConnectionsPerIp: 2 } });
  const tls = await import('node:tls');
  const open: import('node:tls').TLSSocket[] = [];
  try {
    const connect = () =>
      new Promise<boolean>((resolve) => {
        const sock = tls.connect({ host: '127.0.0.1', port: webPort(g), rejectUnauthorized: false }, () => resolve(true));
        sock.on('error', () => resolve(false));
        sock.on('close', () => resolve(false));
        open.push(sock);
      });
    assert.equal(await connect(), true);
    assert.equal(await connect(), true);
    assert.equal(await connect(), false, 'the third is closed');
    open.shift()!.destroy();
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(await connect(), true, 'a freed slot is usable again');
    assert.ok(g.logs.some((l) => l.listener === 'web' && l.reason === 'per-ip-limit'));
  } finally {
    for (const s of open) s.destroy();
    await g.close();
  }
});
