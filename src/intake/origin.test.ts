import { test } from 'node:test';
import assert from 'node:assert/strict';
import { flagsOf, type IntakeOrigin, type OriginFlags } from './origin.ts';

const checkHeader = () => undefined;
const hold = { onSenderHold: 'refuse' as const, heldCap: 7 };
const injected = { protocol: 'LOCAL', via: 'site shop', addFrom: '<news@shop.test>' };

const cases: { origin: IntakeOrigin; sender: string; flags: OriginFlags }[] = [
  {
    origin: { kind: 'mailbox', mailboxId: 3, address: 'ann@acme.test', customerId: 2, customer: 'acme', hold, checkHeader },
    sender: 'other@elsewhere.test',
    flags: {
      customerId: 2,
      mailboxId: 3,
      siteId: null,
      authUser: 'ann@acme.test',
      sign: true,
      scan: { user: 'ann@acme.test' },
      limitScope: { customer: 'acme', domain: 'acme.test', mailbox: 'ann@acme.test' },
      onSenderHold: 'refuse',
      heldCap: 7,
      checkHeader,
      protocol: undefined,
      via: undefined,
      addFrom: undefined,
      bareLineEndings: undefined,
    },
  },
  {
    origin: {
      kind: 'mailbox',
      mailboxId: 3,
      address: 'ann@acme.test',
      customerId: 2,
      customer: 'acme',
      hold,
      checkHeader,
      injected: { protocol: 'HTTPS', via: 'login ann@acme.test' },
    },
    sender: 'ann@acme.test',
    flags: {
      customerId: 2,
      mailboxId: 3,
      siteId: null,
      authUser: 'ann@acme.test',
      sign: true,
      scan: { user: 'ann@acme.test' },
      limitScope: { customer: 'acme', domain: 'acme.test', mailbox: 'ann@acme.test' },
      onSenderHold: 'refuse',
      heldCap: 7,
      checkHeader,
      protocol: 'HTTPS',
      via: 'login ann@acme.test',
      addFrom: undefined,
      bareLineEndings: 'normalize',
    },
  },
  {
    origin: { kind: 'site', siteId: 9, name: 'shop', customerId: 2, customer: 'acme', hold, checkHeader, injected },
    sender: 'news@Shop.test',
    flags: {
      customerId: 2,
      mailboxId: null,
      siteId: 9,
      authUser: null,
      sign: true,
      scan: { user: 'site:shop' },
      limitScope: { customer: 'acme', domain: 'shop.test', site: 'shop' },
      onSenderHold: 'refuse',
      heldCap: 7,
      checkHeader,
      protocol: 'LOCAL',
      via: 'site shop',
      addFrom: '<news@shop.test>',
      bareLineEndings: 'normalize',
    },
  },
  {
    origin: { kind: 'relay' },
    sender: 'someone@remote.test',
    flags: {
      customerId: null,
      mailboxId: null,
      siteId: null,
      authUser: null,
      sign: false,
      scan: { user: null },
      limitScope: undefined,
      onSenderHold: undefined,
      heldCap: undefined,
      checkHeader: undefined,
      protocol: undefined,
      via: undefined,
      addFrom: undefined,
      bareLineEndings: undefined,
    },
  },
  {
    origin: { kind: 'notice', customerId: 5 },
    sender: '',
    flags: {
      customerId: 5,
      mailboxId: null,
      siteId: null,
      authUser: null,
      sign: true,
      scan: null,
      limitScope: undefined,
      onSenderHold: undefined,
      heldCap: undefined,
      checkHeader: undefined,
      protocol: undefined,
      via: undefined,
      addFrom: undefined,
      bareLineEndings: undefined,
    },
  },
];

for (const c of cases) {
  test(`origin ${c.origin.kind}${'injected' in c.origin && c.origin.injected ? ' (injected)' : ''} implies its flags`, () => {
    assert.deepEqual(flagsOf(c.origin, c.sender), c.flags);
  });
}

test('a site counts under the domain of its envelope sender; the null sender counts for no domain', () => {
  const site: IntakeOrigin = { kind: 'site', siteId: 1, name: 's', customerId: 1, customer: 'c', hold, checkHeader, injected };
  assert.equal(flagsOf(site, '').limitScope?.domain, '');
  assert.equal(flagsOf(site, 'a@b.test').limitScope?.domain, 'b.test');
});
