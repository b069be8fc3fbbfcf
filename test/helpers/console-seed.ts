/**
 * A delivery lab seeded so that every console page has real rows (a bounce, a held mailbox, a
 * ban, a suppression, a webhook with a delivery, limits, DKIM keys), and the pages of each role.
 * Shared by the console's browser accessibility test and the screenshot script.
 */
import assert from 'node:assert/strict';
import { startDeliveryLab, until, type DeliveryLab } from './delivery-lab.ts';
import { HOLD_AFTER_3_DOMAINS, holdMailbox } from './held.ts';
import type { Credentials } from './console.ts';
import type { FakeZone } from './fake-dns.ts';

const ZONE: FakeZone = {
  'remote.test': { MX: [{ preference: 10, exchange: 'mx1.remote.test' }] },
  'mx1.remote.test': { A: ['127.0.0.2'] },
  'example.com': { MX: [{ preference: 10, exchange: 'mx.example.com' }] },
  'mx.example.com': { A: ['127.0.0.4'] },
};
const HOUR = 3_600_000;

export interface SeededConsole {
  lab: DeliveryLab;
  opToken: string;
  acmeToken: string;
  bouncedId: string;
  heldId: string;
  hookId: string;
  roles: { role: 'operator' | 'customer' | 'mailbox'; cred: Credentials; pages: string[] }[];
}

export async function seedConsole(): Promise<SeededConsole> {
  const lab = await startDeliveryLab(
    ZONE,
    { pools: { a: { addresses: ['127.0.0.1'], helo: 'a.out.postern.test' } } },
    {
      containment: HOLD_AFTER_3_DOMAINS,
      auth: { failureDelayMs: 0 },
      dkim: { rsaBits: 1024 },
      webhooks: { allowInsecure: true, allowNetworks: ['127.0.0.0/8'], retrySeconds: [60], pollIntervalMs: 50, timeoutSeconds: 1 },
    },
  );
  const s = lab.s;
  await s.admin.clearLimit('mailbox', '*');
  await lab.mx('127.0.0.2', {
    rcpt: (c) => (c.to === 'nobody@remote.test' ? { code: 550, text: '5.1.1 <nobody@remote.test>: no such user here' } : 'accept'),
  });
  await lab.mx('127.0.0.4', {});
  const bouncedId = await lab.submit({ to: 'nobody@remote.test', subject: 'Quarterly report' });
  await lab.submit({ to: 'friend@remote.test', subject: 'Lunch on Friday' });
  await until(async () => (await s.server.store.tracking.get(bouncedId))?.status === 'failed', 15_000, 'the bounce');
  await s.addMailbox('mallory@example.com', 'mallory-secret-1', 'acme');
  const heldId = await holdMailbox(s, 'mallory@example.com', 'mallory-secret-1');
  await s.addMailbox('bob@other.example', 'bob-secret-111', 'other');
  assert.ok(await s.server.store.authGuard.recordIpFailure('192.0.2.7', Date.now(), 60_000, 1, HOUR), 'a ban');
  await s.admin.addSuppression('gone@remote.test', { customer: 'acme', reason: 'asked by the recipient' });
  const hookId = (await s.admin.addWebhook({ customer: 'acme', url: 'http://127.0.0.1:9/acme-hook' })).endpoint.id;
  await s.admin.testWebhook(hookId);
  await s.admin.setLimit('customer', 'acme', { window: 'hour', messages: 500 });
  await s.admin.setLimit('mailbox', 'alice@example.com', { window: 'day', recipients: 2000, action: 'hold' });
  const opToken = (await s.admin.addToken('ops', { operator: true })).token;
  const acmeToken = (await s.admin.addToken('acme-panel', { customer: 'acme' })).token;
  return {
    lab,
    opToken,
    acmeToken,
    bouncedId,
    heldId,
    hookId,
    roles: [
      {
        role: 'operator',
        cred: { token: opToken },
        pages: [
          '/console',
          '/console/messages',
          `/console/messages/${bouncedId}`,
          `/console/messages/${heldId}`,
          '/console/queue',
          '/console/holds',
          '/console/bans',
          '/console/pools',
          '/console/customers',
          '/console/customers/acme',
          '/console/domains/example.com',
          '/console/mailboxes/mallory%40example.com',
          '/console/suppressions',
          '/console/webhooks',
          `/console/webhooks/${hookId}`,
          '/console/security',
        ],
      },
      {
        role: 'customer',
        cred: { token: acmeToken },
        pages: [
          '/console',
          '/console/messages',
          `/console/messages/${bouncedId}`,
          '/console/domains/example.com',
          '/console/mailboxes/alice%40example.com',
          '/console/suppressions',
          '/console/webhooks',
          `/console/webhooks/${hookId}`,
          '/console/password',
          '/console/security',
          '/console/app-passwords?mailbox=alice%40example.com',
        ],
      },
      {
        role: 'mailbox',
        cred: { login: 'alice@example.com', password: 'alice-secret-1' },
        pages: [
          '/console',
          '/console/messages',
          `/console/messages/${bouncedId}`,
          '/console/domains/example.com',
          '/console/password',
          '/console/security',
          '/console/app-passwords',
        ],
      },
    ],
  };
}
