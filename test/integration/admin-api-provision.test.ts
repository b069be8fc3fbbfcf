/**
 * A panel provisions a customer end to end through the admin API with an operator token:
 * customer, domain, mailbox with a password, a sender grant, a site, a limit; it fetches the
 * DNS records, publishes the DKIM ones, activates the key; then the mailbox sends through SMTP
 * (nodemailer) as its granted address and the site through the send API, and the mail reaches
 * the recipient's MX signed for the new domain. On SQLite, and once on PostgreSQL.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import nodemailer from 'nodemailer';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import { startDeliveryLab, until } from '../helpers/delivery-lab.ts';
import type { FakeZone } from '../helpers/fake-dns.ts';
import { createAdminClient } from '../helpers/admin-api.ts';
import { apiPost } from '../helpers/api.ts';
import { makeSchema, PG_URL } from '../helpers/pg.ts';
import { createDnsLookup, txtStrings } from '../../src/dkim/index.ts';

const ZONE: FakeZone = {
  'remote.test': { MX: [{ preference: 10, exchange: 'mx1.remote.test' }] },
  'mx1.remote.test': { A: ['127.0.0.2'] },
};

async function provision(store: Record<string, unknown> | null): Promise<void> {
  const zone = structuredClone(ZONE);
  const lab = await startDeliveryLab(zone, { publicAddresses: ['192.0.2.25'] }, {
    dkim: { enabled: true, rsaBits: 1024, autoActivate: false, keyCacheSeconds: 0 },
    ...(store ? { store } : {}),
  } as never);
  try {
    const mx = await lab.mx('127.0.0.2', {});
    const api = createAdminClient(lab.s);
    const token = (await lab.s.admin.addToken('panel', { operator: true })).token;
    const call = (status: number, method: Parameters<typeof api.expect>[1], path: string, o: Parameters<typeof api.expect>[3] = {}) =>
      api.expect(status, method, path, { token, ...o });

    await call(201, 'post', '/customers', { body: { name: 'panelco', contact: 'owner@panel.example' } });
    await call(201, 'post', '/domains', { body: { name: 'panel.example', customer: 'panelco' } });
    const mbx = await call(201, 'post', '/mailboxes', { body: { address: 'info@panel.example', password: 'panel mailbox pw 1' } });
    assert.equal(mbx.json.password, null);
    await call(201, 'post', '/mailboxes/{address}/grants', {
      params: { address: 'info@panel.example' },
      body: { sendAs: 'sales@panel.example' },
    });
    const site = await call(201, 'post', '/sites', { body: { name: 'panel-shop', customer: 'panelco', sendAs: ['orders@panel.example'] } });
    await call(200, 'put', '/limits', { body: { level: 'customer', target: 'panelco', window: 'day', messages: 100 } });

    // the DNS records the customer must publish; the DKIM ones go into the (fake) zone
    const dns = await call(200, 'get', '/domains/{domain}/dns', { params: { domain: 'panel.example' } });
    const records = dns.json.records as { name: string; type: string; value: string }[];
    assert.ok(
      records.some((r) => r.type === 'TXT' && r.name === 'panel.example' && r.value.includes('v=spf1 ip4:192.0.2.25')),
      'SPF',
    );
    assert.ok(
      records.some((r) => r.type === 'TXT' && r.name === '_dmarc.panel.example'),
      'DMARC',
    );
    const dkim = records.filter((r) => r.type === 'TXT' && r.name.endsWith('._domainkey.panel.example'));
    assert.equal(dkim.length, 1);
    // the value as a zone file has it ("..." "..."): the strings joined are the record
    for (const r of dkim) zone[r.name] = { TXT: [txtStrings([...r.value.matchAll(/"([^"]*)"/g)].map((m) => m[1]).join(''))] };
    lab.dns.setZone(zone);
    const act = await call(200, 'post', '/domains/{domain}/dkim/activate', { params: { domain: 'panel.example' }, body: {} });
    assert.equal(act.json.activated.length, 1, 'activated after the DNS check found the record');

    // the mailbox sends through SMTP as its granted address
    const tr = nodemailer.createTransport({
      host: '127.0.0.1',
      port: lab.s.port('submission'),
      requireTLS: true,
      auth: { user: 'info@panel.example', pass: 'panel mailbox pw 1' },
      tls: { rejectUnauthorized: false },
    });
    const info = await tr.sendMail({
      from: 'sales@panel.example',
      to: 'bob@remote.test',
      subject: 'provisioned',
      text: 'hello from the panel',
    });
    tr.close();
    const id = /queued as (\S+)/.exec(info.response)![1]!;
    const got = await until(() => mx.received.find((m) => m.data.toString().includes(id)), 10_000, 'delivery to the MX');
    assert.equal(got.from, 'sales@panel.example');
    const resolver = createDnsLookup({ servers: [lab.dns.address], timeoutMs: 500, tries: 1 });
    const verified = await dkimVerify(got.data, { resolver: resolver as never });
    assert.ok(
      verified.results.some(
        (r: { signingDomain: string; status: { result: string } }) => r.signingDomain === 'panel.example' && r.status.result === 'pass',
      ),
      JSON.stringify(verified.results.map((r: { status: unknown }) => r.status)),
    );

    // the site sends through the send API with the token the API returned once
    const sent = await apiPost(lab.s, {
      auth: { token: site.json.token },
      body: { from: 'orders@panel.example', to: 'bob@remote.test', subject: 'order', text: 'thanks' },
    });
    assert.equal(sent.status, 202, JSON.stringify(sent.json));
    await until(() => mx.received.find((m) => m.data.toString().includes(String(sent.json.id))), 10_000, "the site's mail at the MX");

    const limits = await call(200, 'get', '/limits', { query: { level: 'customer', target: 'panelco' } });
    const day = (limits.json.limits as { target: string; window: string; usage: number }[]).find(
      (r) => r.target === 'panelco' && r.window === 'day',
    )!;
    assert.equal(day.usage, 2, 'both messages counted under the customer limit');
    const audit = await call(200, 'get', '/audit', { query: { limit: '50' } });
    const actions = (audit.json.entries as { actor: string; action: string }[])
      .filter((e) => e.actor === 'api:panel')
      .map((e) => e.action)
      .reverse();
    assert.deepEqual(actions, ['addCustomer', 'addDomain', 'addMailbox', 'grant', 'addSite', 'setLimit', 'activateDkim']);
  } finally {
    await lab.close();
  }
}

test('a panel provisions a customer end to end through the API, and its mail goes out (SQLite)', () => provision(null));

test('the same on PostgreSQL', async () => {
  const schema = await makeSchema('adminapi');
  try {
    await provision({ kind: 'postgres', url: PG_URL, schema: schema.schema });
  } finally {
    await schema.drop();
  }
});
