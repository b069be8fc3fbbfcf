import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createSqliteStore } from '../store/sqlite/index.ts';
import type { DkimService, DnsLookup } from '../dkim/index.ts';
import { createAdminService, AdminError } from './service.ts';

/** A DNS where nothing exists (every lookup: NXDOMAIN); counts the lookups. */
function emptyDns() {
  const asked: string[] = [];
  const lookup: DnsLookup = async (name, rrtype) => {
    asked.push(`${rrtype} ${name}`);
    throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
  };
  return { asked, lookup };
}

test("checkDomain: without a scope any domain; with a customer scope its own only, another customer's is missing and is never looked up", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'postern-dkim-admin-'));
  const store = createSqliteStore({ path: path.join(dir, 'p.db') });
  const dns = emptyDns();
  try {
    const svc = createAdminService(store, {
      dkim: {
        enabled: false,
        service: {} as DkimService,
        lookup: () => dns.lookup,
        sendingIps: ['192.0.2.10'],
        heloName: 'mx.postern.test',
        clients: { provider: 'p', webHost: 'mx.postern.test', webPort: 443, outgoing: [], incoming: [] },
      },
    });
    const acme = await svc.addCustomer('acme');
    const other = await svc.addCustomer('other');
    await svc.addDomain('shop.example', 'acme');
    await svc.addDomain('else.example', 'other');

    const operator = await svc.checkDomain('shop.example');
    assert.equal(operator.domain, 'shop.example');
    assert.equal(operator.ok, false);
    assert.ok(
      operator.items.some((i) => i.id === 'dmarc' && i.status === 'fail'),
      JSON.stringify(operator.items),
    );

    const own = await svc.checkDomain('SHOP.example', { customerId: acme.id, customerName: 'acme' });
    assert.equal(own.domain, 'shop.example');

    const before = dns.asked.length;
    await assert.rejects(
      svc.checkDomain('shop.example', { customerId: other.id, customerName: 'other' }),
      (e: unknown) => e instanceof AdminError && e.kind === 'not-found' && e.message === 'no hosted domain shop.example',
    );
    assert.equal(dns.asked.length, before, 'nothing looked up for a domain the scope does not see');
  } finally {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
