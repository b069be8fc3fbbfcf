/**
 * Tenant walls of the admin API: a customer token naming another customer's object gets the
 * very answer a missing object gets (404, the same problem, no data), whether it reads, changes
 * or creates under it; its lists hold its own objects only; operator routes answer 403. Every
 * route a customer token may call is tried against the other customer here.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, submitAs, type TestServer } from '../helpers/server.ts';
import { createAdminClient, type AdminRequest } from '../helpers/admin-api.ts';
import { ADMIN_ROUTES, type AnyRoute } from '../../src/admin/api/index.ts';

let s: TestServer;
let api: ReturnType<typeof createAdminClient>;
let A: string; // acme's customer token
let bobMessage: string;
let otherHook: string;
const tried = new Set<string>();

before(async () => {
  s = await startTestServer({ webhooks: { allowNetworks: ['127.0.0.0/8'] } }); // the endpoints below are on loopback
  api = createAdminClient(s);
  const a = s.admin;
  await s.addMailbox('alice@acme.example', 'alice password 1', 'acme');
  await s.addMailbox('bob@other.example', 'bob password 1', 'other');
  await a.addSite('acme-site', { customer: 'acme', domain: 'acme.example' });
  await a.addSite('other-site', { customer: 'other', domain: 'other.example' });
  await a.grant('bob@other.example', { sendAs: 'sales@other.example' });
  await a.setLimit('customer', 'other', { window: 'hour', messages: 7 });
  await a.setLimit('mailbox', 'bob@other.example', { window: 'day', messages: 9 });
  await a.setLimit('customer', 'acme', { window: 'hour', messages: 5 });
  assert.match(await submitAs(s, { user: 'bob@other.example', pass: 'bob password 1', to: ['x@remote.example'] }), /^250/);
  assert.match(await submitAs(s, { user: 'alice@acme.example', pass: 'alice password 1', to: ['x@remote.example'] }), /^250/);
  bobMessage = (await s.server.store.queue.list({ customer: 'other' }))[0]!.id;
  A = (await a.addToken('acme-panel', { customer: 'acme' })).token;
  otherHook = (await a.addWebhook({ customer: 'other', url: 'https://127.0.0.1:9/other' })).endpoint.id;
  await a.testWebhook(otherHook);
  await a.addSuppression('gone@remote.example', { customer: 'other', days: 1 });
});
after(() => s?.close());

/**
 * Calls a route with the other customer's object and with a missing one: both 404, and the
 * same problem once each name is replaced by a placeholder.
 */
async function likeMissing(
  method: AnyRoute['method'],
  path: string,
  theirs: AdminRequest,
  missing: AdminRequest,
  names: [string, string][],
): Promise<void> {
  tried.add(`${method} ${path}`);
  const a = await api.expect(404, method, path, { token: A, ...theirs });
  const b = await api.expect(404, method, path, { token: A, ...missing });
  let ta = a.text;
  let tb = b.text;
  for (const [t, m] of names) {
    ta = ta.split(t).join('<NAME>');
    tb = tb.split(m).join('<NAME>');
  }
  assert.equal(ta, tb, `${method} ${path}: another customer's object is answered like a missing one`);
  assert.deepEqual(Object.keys(a.json).sort(), ['detail', 'reason', 'status', 'title', 'type'], 'a bare problem, no data');
}

const mb = (address: string) => ({ params: { address } });

test('mailboxes and their grants of another customer: 404 like a missing mailbox, and nothing changes', async () => {
  const names: [string, string][] = [['bob@other.example', 'ghost@acme.example']];
  const theirs = mb('bob@other.example');
  const ghost = mb('ghost@acme.example');
  await likeMissing('get', '/mailboxes/{address}', theirs, ghost, names);
  await likeMissing(
    'put',
    '/mailboxes/{address}/password',
    { ...theirs, body: { password: 'taken over 123' } },
    { ...ghost, body: { password: 'taken over 123' } },
    names,
  );
  for (const action of ['suspend', 'resume', 'unlock']) await likeMissing('post', `/mailboxes/{address}/${action}`, theirs, ghost, names);
  await likeMissing('delete', '/mailboxes/{address}', theirs, ghost, names);
  await likeMissing('get', '/mailboxes/{address}/grants', theirs, ghost, names);
  await likeMissing(
    'post',
    '/mailboxes/{address}/grants',
    { ...theirs, body: { sendAs: 'ceo@other.example' } },
    { ...ghost, body: { sendAs: 'ceo@other.example' } },
    names,
  );
  await likeMissing(
    'delete',
    '/mailboxes/{address}/grants',
    { ...theirs, query: { sendAs: 'sales@other.example' } },
    { ...ghost, query: { sendAs: 'sales@other.example' } },
    names,
  );
  await likeMissing(
    'post',
    '/mailboxes',
    { body: { address: 'new@other.example', password: 'long enough 1' } },
    { body: { address: 'new@nothosted.example', password: 'long enough 1' } },
    [['other.example', 'nothosted.example']],
  );
  // app passwords of another customer's mailbox: like a missing mailbox
  await likeMissing('get', '/mailboxes/{address}/app-passwords', theirs, ghost, names);
  await likeMissing(
    'post',
    '/mailboxes/{address}/app-passwords',
    { ...theirs, body: { name: 'phone' } },
    { ...ghost, body: { name: 'phone' } },
    names,
  );
  await likeMissing(
    'delete',
    '/mailboxes/{address}/app-passwords/{name}',
    { params: { address: 'bob@other.example', name: 'phone' } },
    { params: { address: 'ghost@acme.example', name: 'phone' } },
    names,
  );
  await likeMissing(
    'put',
    '/mailboxes/{address}/app-passwords-only',
    { ...theirs, body: { on: true } },
    { ...ghost, body: { on: true } },
    names,
  );
  // imports: a line naming another customer's domain or mailbox is refused in the report, like a line of a domain nobody hosts
  const hash = '{SHA512-CRYPT}$6$saltsalt$' + 'a'.repeat(86);
  for (const [path, body, wanted] of [
    ['/mailboxes/import', { format: 'dovecot-passwd', content: `eve@other.example:${hash}\n` }, 'eve@other.example'],
    ['/grants/import', { content: 'sales2@other.example  bob@other.example\n' }, 'bob@other.example'],
  ] as const) {
    tried.add(`post ${path}`);
    const r = await api.expect(200, 'post', path, { token: A, body });
    assert.equal(r.json.refused.length, 1, `${path}: the other customer's line is refused: ${r.text}`);
    assert.equal(r.json.added ?? 0, 0);
    const ghostText = (
      await api.expect(200, 'post', path, {
        token: A,
        body: { ...body, content: body.content.split('other.example').join('nothosted.example') },
      })
    ).text;
    assert.equal(
      r.text.split('other.example').join('<D>'),
      ghostText.split('nothosted.example').join('<D>'),
      `${path}: answered like a domain nobody hosts (${wanted})`,
    );
  }

  const bob = (await s.server.store.mailboxes.get('bob@other.example'))!;
  assert.equal(bob.status, 'active');
  assert.equal(await submitAs(s, { user: 'bob@other.example', pass: 'bob password 1' }), 'ok', 'the password did not change');
  assert.deepEqual(
    (await s.server.store.grants.list(bob.id)).map((g) => g.value),
    ['sales@other.example'],
  );
  assert.equal(await s.server.store.mailboxes.get('new@other.example'), null);

  // its own mailbox: allowed; a grant of the other customer's domain: refused
  await api.expect(200, 'get', '/mailboxes/{address}', { token: A, ...mb('alice@acme.example') });
  const made = await api.expect(201, 'post', '/mailboxes', { token: A, body: { address: 'carol@acme.example' } });
  assert.equal(made.json.mailbox.customer, 'acme');
  await api.expect(422, 'post', '/mailboxes/{address}/grants', {
    token: A,
    ...mb('alice@acme.example'),
    body: { domain: 'other.example' },
  });
});

test('customers, domains (DNS records, DKIM keys) and sites of another customer: 404 like missing ones', async () => {
  await likeMissing('get', '/customers/{name}', { params: { name: 'other' } }, { params: { name: 'ghost' } }, [['other', 'ghost']]);
  await likeMissing(
    'patch',
    '/customers/{name}',
    { params: { name: 'other' }, body: { contact: 'me@acme.example' } },
    { params: { name: 'ghost' }, body: { contact: 'me@acme.example' } },
    [['other', 'ghost']],
  );
  assert.equal((await s.server.store.customers.get('other'))!.contact, null);
  const dn: [string, string][] = [['other.example', 'ghost.example']];
  for (const p of ['/domains/{domain}', '/domains/{domain}/dns', '/domains/{domain}/dkim']) {
    await likeMissing('get', p, { params: { domain: 'other.example' } }, { params: { domain: 'ghost.example' } }, dn);
  }
  const sn: [string, string][] = [['other-site', 'ghost-site']];
  const site = { params: { name: 'other-site' } };
  const ghost = { params: { name: 'ghost-site' } };
  await likeMissing('get', '/sites/{name}', site, ghost, sn);
  await likeMissing('post', '/sites/{name}/token', site, ghost, sn);
  await likeMissing(
    'post',
    '/sites/{name}/grants',
    { ...site, body: { domain: 'acme.example' } },
    { ...ghost, body: { domain: 'acme.example' } },
    sn,
  );
  await likeMissing(
    'delete',
    '/sites/{name}/grants',
    { ...site, query: { domain: 'other.example' } },
    { ...ghost, query: { domain: 'other.example' } },
    sn,
  );
  await likeMissing('delete', '/sites/{name}', site, ghost, sn);
  await likeMissing(
    'post',
    '/sites',
    { body: { name: 'mine', customer: 'other', domain: 'acme.example' } },
    { body: { name: 'mine', customer: 'ghost', domain: 'acme.example' } },
    [['other', 'ghost']],
  );
  const other = (await s.server.store.sites.get('other-site'))!;
  assert.deepEqual(
    (await s.server.store.sites.grants(other.id)).map((g) => g.value),
    ['other.example'],
    'the other site is untouched',
  );
  assert.equal(await s.server.store.sites.get('mine'), null);

  // its own site: allowed, but never with a unix user (that is the operator's to give)
  assert.match(
    (await api.expect(201, 'post', '/sites', { token: A, body: { name: 'acme-blog', customer: 'acme', domain: 'acme.example' } })).json
      .token,
    /^pst_/,
  );
  assert.equal(
    (
      await api.expect(403, 'post', '/sites', {
        token: A,
        body: { name: 'acme-cron', customer: 'acme', unixUser: 'root', domain: 'acme.example' },
      })
    ).json.reason,
    'forbidden',
  );
});

test('lists name another customer: 404; unfiltered lists hold the own customer only', async () => {
  const cn: [string, string][] = [['other', 'ghost']];
  await likeMissing('get', '/domains', { query: { customer: 'other' } }, { query: { customer: 'ghost' } }, cn);
  await likeMissing('get', '/mailboxes', { query: { customer: 'other' } }, { query: { customer: 'ghost' } }, cn);
  await likeMissing('get', '/sites', { query: { customer: 'other' } }, { query: { customer: 'ghost' } }, cn);
  await likeMissing('get', '/queue', { query: { customer: 'other' } }, { query: { customer: 'ghost' } }, cn);
  await likeMissing(
    'get',
    '/limits',
    { query: { level: 'customer', target: 'other' } },
    { query: { level: 'customer', target: 'ghost' } },
    cn,
  );
  await api.expect(404, 'get', '/limits', { token: A, query: { level: 'mailbox', target: 'bob@other.example' } });
  await api.expect(404, 'get', '/limits', { token: A, query: { level: 'domain', target: 'other.example' } });
  await api.expect(404, 'get', '/limits', { token: A, query: { level: 'site', target: 'other-site' } });
  await api.expect(404, 'get', '/limits', { token: A, query: { level: 'server' } });
  await api.expect(404, 'get', '/mailboxes', { token: A, query: { domain: 'other.example' } });
  await api.expect(404, 'get', '/queue', { token: A, query: { site: 'other-site' } });
  await likeMissing('get', '/queue/{id}', { params: { id: bobMessage } }, { params: { id: 'GHOSTID0000' } }, [[bobMessage, 'GHOSTID0000']]);

  const all = [
    await api.expect(200, 'get', '/customers', { token: A }),
    await api.expect(200, 'get', '/domains', { token: A }),
    await api.expect(200, 'get', '/mailboxes', { token: A }),
    await api.expect(200, 'get', '/sites', { token: A }),
    await api.expect(200, 'get', '/limits', { token: A }),
    await api.expect(200, 'get', '/queue', { token: A }),
  ];
  for (const a of all) {
    assert.ok(!/other|bob@/.test(a.text), `no data of the other customer: ${a.text}`);
    assert.ok(a.text.includes('acme'), `its own data: ${a.text}`);
  }
  const limits = all[4]!.json.limits as { level: string; target: string; max: number }[];
  assert.ok(
    limits.some((r) => r.target === 'acme' && r.max === 5),
    'its own limit',
  );
  assert.ok(
    limits.every((r) => r.level !== 'server'),
    'no server limits',
  );
  assert.ok(
    limits.every((r) => r.target === '*' || r.target === 'acme'),
    JSON.stringify(limits),
  );
  assert.equal((all[5]!.json.messages as unknown[]).length, 1, 'its own message only');
  tried.add('get /customers').add('get /token');
  await api.expect(200, 'get', '/token', { token: A });
});

test('tracking, suppressions and webhooks of another customer: 404 like missing ones, and nothing changes', async () => {
  const cn: [string, string][] = [['other', 'ghost']];
  await likeMissing('get', '/tracking/messages/{queueId}', { params: { queueId: bobMessage } }, { params: { queueId: 'GHOSTID0000' } }, [
    [bobMessage, 'GHOSTID0000'],
  ]);
  await likeMissing('get', '/tracking/messages', { query: { customer: 'other' } }, { query: { customer: 'ghost' } }, cn);
  await likeMissing('get', '/suppressions', { query: { customer: 'other' } }, { query: { customer: 'ghost' } }, cn);
  await likeMissing(
    'post',
    '/suppressions',
    { body: { address: 'x@remote.example', customer: 'other' } },
    { body: { address: 'x@remote.example', customer: 'ghost' } },
    cn,
  );
  await likeMissing(
    'delete',
    '/suppressions/{customer}/{address}',
    { params: { customer: 'other', address: 'gone@remote.example' } },
    { params: { customer: 'ghost', address: 'gone@remote.example' } },
    cn,
  );
  await likeMissing('get', '/webhooks', { query: { customer: 'other' } }, { query: { customer: 'ghost' } }, cn);
  await likeMissing(
    'post',
    '/webhooks',
    { body: { url: 'https://127.0.0.1:9/x', customer: 'other' } },
    { body: { url: 'https://127.0.0.1:9/x', customer: 'ghost' } },
    cn,
  );
  await likeMissing('get', '/webhooks/deliveries', { query: { customer: 'other' } }, { query: { customer: 'ghost' } }, cn);
  const hn: [string, string][] = [[otherHook, 'wh_ghost']];
  const hook = { params: { id: otherHook } };
  const ghost = { params: { id: 'wh_ghost' } };
  await likeMissing('get', '/webhooks/{id}', hook, ghost, hn);
  await likeMissing('get', '/webhooks/{id}/deliveries', hook, ghost, hn);
  for (const action of ['rotate-secret', 'disable', 'enable', 'test'])
    await likeMissing('post', `/webhooks/{id}/${action}`, hook, ghost, hn);
  await likeMissing('delete', '/webhooks/{id}', hook, ghost, hn);

  const other = (await s.server.store.customers.get('other'))!;
  const e = (await s.server.store.webhooks.endpoint(otherHook))!;
  assert.deepEqual([e.enabled, e.updatedAt === e.createdAt], [true, true], 'the other endpoint is untouched (same secret, still enabled)');
  assert.equal((await s.server.store.webhooks.log({ customerId: other.id, limit: 10 })).length, 1, 'no ping was queued for it');
  assert.deepEqual(
    (await s.server.store.suppressions.list({ customerId: other.id, now: Date.now(), limit: 10 })).map((x) => x.address),
    ['gone@remote.example'],
  );

  // its own: a suppression and an endpoint without naming the customer, and lists of its own only
  assert.equal(
    (await api.expect(201, 'post', '/suppressions', { token: A, body: { address: 'gone@remote.example', days: 1 } })).json.customer,
    'acme',
  );
  assert.equal(
    (await api.expect(201, 'post', '/suppressions', { token: A, body: { address: 'two@remote.example', customer: 'acme', days: 1 } })).json
      .customer,
    'acme',
  );
  assert.match(
    (await api.expect(422, 'post', '/webhooks', { token: A, body: { url: 'http://127.0.0.1:9/mine' } })).json.detail,
    /must start with https/,
  );
  const mine = await api.expect(201, 'post', '/webhooks', { token: A, body: { url: 'https://127.0.0.1:9/mine' } });
  assert.equal(mine.json.webhook.customer, 'acme');
  await api.expect(200, 'post', '/webhooks/{id}/test', { token: A, params: { id: mine.json.webhook.id } });
  const lists = [
    await api.expect(200, 'get', '/tracking/messages', { token: A }),
    await api.expect(200, 'get', '/suppressions', { token: A }),
    await api.expect(200, 'get', '/webhooks', { token: A }),
    await api.expect(200, 'get', '/webhooks/deliveries', { token: A }),
  ];
  for (const a of lists) {
    assert.ok(
      !/"other"|bob@|\/other/.test(a.text) && !a.text.includes(otherHook) && !a.text.includes(bobMessage),
      `no data of the other customer: ${a.text}`,
    );
    assert.ok(a.text.includes('acme'), `its own data: ${a.text}`);
  }
  assert.equal(lists[0]!.json.messages.length, 1, 'its own message only');
  assert.equal(lists[1]!.json.suppressions.length, 2);
  assert.equal(lists[3]!.json.deliveries.length, 1, 'its own ping only');
  assert.deepEqual(
    (
      await api.expect(200, 'delete', '/suppressions/{customer}/{address}', {
        token: A,
        params: { customer: 'acme', address: 'two@remote.example' },
      })
    ).json,
    { customer: 'acme', address: 'two@remote.example' },
  );
  await api.expect(200, 'delete', '/webhooks/{id}', { token: A, params: { id: mine.json.webhook.id } });
});

test('operator routes answer 403 to a customer token, whatever they name, and change nothing', async () => {
  const before = (await s.server.store.audit.list({ limit: 1000 })).length;
  for (const r of ADMIN_ROUTES.filter((x) => x.access === 'operator')) {
    const params = Object.fromEntries(
      (r.path.match(/\{(\w+)\}/g) ?? []).map((k) => [
        k.slice(1, -1),
        k === '{id}' ? bobMessage : k === '{ip}' ? '192.0.2.1' : 'other.example',
      ]),
    );
    const a = await api.expect(403, r.method, r.path, { token: A, params, ...(r.body ? { body: {} } : {}) });
    assert.equal(a.json.detail, 'This operation needs an operator token');
    tried.add(`${r.method} ${r.path}`);
  }
  assert.equal((await s.server.store.audit.list({ limit: 1000 })).length, before, 'no change was made');
});

test('every route was tried with a customer token against another customer, or as operator-only', () => {
  for (const r of ADMIN_ROUTES) assert.ok(tried.has(`${r.method} ${r.path}`), `${r.method} ${r.path} was tried`);
});
