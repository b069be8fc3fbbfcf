import { test } from 'node:test';
import assert from 'node:assert/strict';
import { admit, holdReasonOf, needsHeldCount, type AdmissionFacts, type Admittable, type EnqueueVerdict } from './admission.ts';
import type { Exceeded, LimitRule } from './rules.ts';

const rule: LimitRule = { level: 'mailbox', target: '*', window: 'hour', metric: 'messages', max: 10, action: 'hold' };
const over = (action: LimitRule['action']): Exceeded[] => [{ rule: { ...rule, action }, used: 10, until: 3_600_000 }];
const msg = (o: Partial<Admittable> = {}): Admittable => ({ id: 'Q1', customerId: 1, mailboxId: 7, siteId: null, ...o });
const active = { customer: 'active', mailbox: 'active', held: false } as const;
const facts = (o: Partial<AdmissionFacts> = {}): AdmissionFacts => ({ limits: null, heldCount: null, ...o });
const queued: EnqueueVerdict = { id: 'Q1', outcome: 'queued' };
type Reason = Extract<EnqueueVerdict, { outcome: 'refused' }>['reason'];
const refused = (reason: Reason, action: 'defer' | 'reject' = 'reject', exceeded: Exceeded[] = []): EnqueueVerdict => ({
  id: 'Q1',
  outcome: 'refused',
  action,
  exceeded,
  reason,
});

const cases: [string, Admittable, AdmissionFacts, unknown][] = [
  ['no checks, no limits: queued', msg(), facts(), queued],
  [
    'sender facts are ignored without onSenderHold',
    msg(),
    facts({ sender: { customer: 'suspended', mailbox: 'suspended', held: true } }),
    queued,
  ],
  ['an active sender not on hold: queued', msg({ onSenderHold: 'hold' }), facts({ sender: active }), queued],
  [
    'customer suspended since login: refused',
    msg({ onSenderHold: 'hold' }),
    facts({ sender: { ...active, customer: 'suspended' } }),
    refused('customer-suspended'),
  ],
  [
    'customer removed since login: refused',
    msg({ onSenderHold: 'hold' }),
    facts({ sender: { ...active, customer: null } }),
    refused('customer-suspended'),
  ],
  [
    'a message without customer never checks one',
    msg({ onSenderHold: 'hold', customerId: null }),
    facts({ sender: { ...active, customer: null } }),
    queued,
  ],
  [
    'mailbox suspended since login: refused',
    msg({ onSenderHold: 'hold' }),
    facts({ sender: { ...active, mailbox: 'suspended' } }),
    refused('mailbox-suspended'),
  ],
  [
    'mailbox removed since login: refused',
    msg({ onSenderHold: 'refuse' }),
    facts({ sender: { ...active, mailbox: null } }),
    refused('mailbox-suspended'),
  ],
  [
    'customer before mailbox',
    msg({ onSenderHold: 'hold' }),
    facts({ sender: { customer: 'removing', mailbox: 'suspended', held: true } }),
    refused('customer-suspended'),
  ],
  [
    'a site message checks no mailbox status',
    msg({ onSenderHold: 'hold', mailboxId: null, siteId: 3 }),
    facts({ sender: { ...active, mailbox: null } }),
    queued,
  ],
  [
    'sender on hold, onSenderHold hold: held',
    msg({ onSenderHold: 'hold' }),
    facts({ sender: { ...active, held: true } }),
    { id: 'Q1', outcome: 'held', exceeded: [], reason: 'mailbox-held' },
  ],
  [
    'sender on hold, onSenderHold refuse: refused',
    msg({ onSenderHold: 'refuse' }),
    facts({ sender: { ...active, held: true } }),
    refused('mailbox-held'),
  ],
  [
    'sender hold comes before content hold and limits',
    msg({ onSenderHold: 'refuse', contentHold: true }),
    facts({ sender: { ...active, held: true }, limits: { action: 'reject', exceeded: over('reject') } }),
    refused('mailbox-held'),
  ],
  ['content hold', msg({ contentHold: true }), facts(), { id: 'Q1', outcome: 'held', exceeded: [], reason: 'content' }],
  [
    'content hold comes before limits',
    msg({ contentHold: true }),
    facts({ limits: { action: 'reject', exceeded: over('reject') } }),
    { id: 'Q1', outcome: 'held', exceeded: [], reason: 'content' },
  ],
  ['limits pass', msg(), facts({ limits: { action: null, exceeded: [] } }), queued],
  [
    'limit defer',
    msg(),
    facts({ limits: { action: 'defer', exceeded: over('defer') } }),
    { id: 'Q1', outcome: 'refused', action: 'defer', exceeded: over('defer') },
  ],
  [
    'limit reject',
    msg(),
    facts({ limits: { action: 'reject', exceeded: over('reject') } }),
    { id: 'Q1', outcome: 'refused', action: 'reject', exceeded: over('reject') },
  ],
  [
    'limit hold',
    msg(),
    facts({ limits: { action: 'hold', exceeded: over('hold') } }),
    { id: 'Q1', outcome: 'held', exceeded: over('hold') },
  ],
  [
    'held under the cap: held',
    msg({ heldCap: 3 }),
    facts({ limits: { action: 'hold', exceeded: over('hold') }, heldCount: 2 }),
    { id: 'Q1', outcome: 'held', exceeded: over('hold') },
  ],
  [
    'held at the cap: deferred (held-full), keeping what was exceeded',
    msg({ heldCap: 3 }),
    facts({ limits: { action: 'hold', exceeded: over('hold') }, heldCount: 3 }),
    refused('held-full', 'defer', over('hold')),
  ],
  ['a content hold is capped too', msg({ heldCap: 0, contentHold: true }), facts({ heldCount: 0 }), refused('held-full', 'defer')],
  [
    'a sender hold is capped too',
    msg({ heldCap: 1, onSenderHold: 'hold' }),
    facts({ sender: { ...active, held: true }, heldCount: 5 }),
    refused('held-full', 'defer'),
  ],
  ['the cap does not touch queued mail', msg({ heldCap: 0 }), facts({ heldCount: 9 }), queued],
  [
    'no count read: not capped',
    msg({ heldCap: 0, contentHold: true }),
    facts(),
    { id: 'Q1', outcome: 'held', exceeded: [], reason: 'content' },
  ],
];

for (const [name, m, f, want] of cases) {
  test(`admit: ${name}`, () => assert.deepEqual(admit(m, f), want));
}

test('admit: a message that checks its sender without sender facts is a programmer error', () => {
  assert.throws(() => admit(msg({ onSenderHold: 'hold' }), facts()), /sender was not read/);
});

test('needsHeldCount: only a held verdict of a capped mailbox or site', () => {
  const held: EnqueueVerdict = { id: 'Q1', outcome: 'held', exceeded: [] };
  assert.equal(needsHeldCount(msg({ heldCap: 5 }), held), true);
  assert.equal(needsHeldCount(msg({ heldCap: 5, mailboxId: null, siteId: 3 }), held), true);
  assert.equal(needsHeldCount(msg({ heldCap: 5, mailboxId: null }), held), false, 'no mailbox or site: nothing to count');
  assert.equal(needsHeldCount(msg(), held), false, 'not capped');
  assert.equal(needsHeldCount(msg({ heldCap: 5 }), queued), false);
});

test('holdReasonOf: the queue row reason of each held verdict', () => {
  assert.equal(holdReasonOf(queued), null);
  assert.equal(holdReasonOf({ id: 'Q1', outcome: 'held', exceeded: [], reason: 'content' }), 'content');
  assert.equal(holdReasonOf({ id: 'Q1', outcome: 'held', exceeded: [], reason: 'mailbox-held' }), 'sender');
  assert.equal(holdReasonOf({ id: 'Q1', outcome: 'held', exceeded: over('hold') }), 'limit');
  assert.equal(holdReasonOf(refused('mailbox-held')), null);
});
