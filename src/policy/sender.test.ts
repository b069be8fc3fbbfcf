import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkEnvelopeSender, senderAllowed } from './sender.ts';
import { checkHeaderSenders, headerAddresses } from './header-sender.ts';
import type { AuthUser, SessionView } from './types.ts';
import type { SenderGrant } from '../core/index.ts';

const alice: AuthUser = { mailboxId: 1, address: 'alice@example.com', customerId: 1, customerName: 'acme' };
const grant = (kind: SenderGrant['kind'], value: string): SenderGrant => ({ mailboxId: 1, kind, value, createdAt: 0 });
const grants = [grant('address', 'orders@shop.example'), grant('domain', 'brand.example')];
const session: SessionView = { role: 'submission', clientIp: '192.0.2.1', user: alice };

test('senderAllowed: own address (any case), named aliases, whole domains; nothing else', () => {
  assert.equal(senderAllowed(alice.address, [], 'Alice@Example.COM'), true);
  assert.equal(senderAllowed(alice.address, grants, 'orders@shop.example'), true);
  assert.equal(senderAllowed(alice.address, grants, 'ORDERS@shop.example'), true);
  assert.equal(senderAllowed(alice.address, grants, 'sales@shop.example'), false, 'an alias grant is one address, not its domain');
  assert.equal(senderAllowed(alice.address, grants, 'anyone@brand.example'), true);
  assert.equal(senderAllowed(alice.address, grants, 'anyone@sub.brand.example'), false, 'a domain grant is not its subdomains');
  assert.equal(senderAllowed(alice.address, grants, 'bob@example.com'), false);
  assert.equal(senderAllowed(alice.address, grants, 'not an address'), false);
  assert.equal(senderAllowed(alice.address, grants, ''), false);
  assert.equal(senderAllowed(alice.address, [grant('null-sender', '')], ''), true);
});

test('checkEnvelopeSender: 553 5.7.1 naming only the refused address; the null sender needs a grant', () => {
  assert.deepEqual(checkEnvelopeSender(session, 'orders@shop.example', grants), { kind: 'continue' });
  const r = checkEnvelopeSender(session, 'bob@other.example', grants);
  assert.equal(r.kind, 'reject');
  assert.deepEqual(r.kind === 'reject' && [r.reply.code, r.reply.enhanced], [553, '5.7.1']);
  assert.match(r.kind === 'reject' ? r.reply.text : '', /<bob@other\.example> is not allowed/);
  assert.doesNotMatch(r.kind === 'reject' ? r.reply.text : '', /orders|brand/, 'never says what is allowed');
  assert.equal(checkEnvelopeSender(session, '', grants).kind, 'reject');
  assert.equal(checkEnvelopeSender(session, '', [grant('null-sender', '')]).kind, 'continue');
  const bad = checkEnvelopeSender(session, 'no-at-sign', grants);
  assert.deepEqual(bad.kind === 'reject' && bad.reply.enhanced, '5.1.7');
  assert.equal(checkEnvelopeSender({ ...session, user: null }, 'x@y.test').kind, 'reject', '530 on submission without AUTH');
  assert.equal(checkEnvelopeSender({ ...session, role: 'mx', user: null }, 'x@y.test').kind, 'continue');
});

test('headerAddresses: display names, groups and lists', () => {
  assert.deepEqual(
    headerAddresses(['"bob@other.example" <alice@example.com>']),
    ['alice@example.com', 'bob@other.example'],
    'an address in the name counts too',
  );
  assert.deepEqual(headerAddresses(['Alice Example <alice@example.com>']), ['alice@example.com']);
  assert.deepEqual(headerAddresses(['a@x.test, B <b@y.test>', 'team: c@z.test, d@z.test;']), [
    'a@x.test',
    'b@y.test',
    'c@z.test',
    'd@z.test',
  ]);
});

test('checkHeaderSenders: every From, Sender and Resent-From address must be allowed', () => {
  const ok = checkHeaderSenders(alice.address, grants, {
    from: ['Shop <orders@shop.example>'],
    sender: ['alice@example.com'],
    resentFrom: [],
  });
  assert.equal(ok.kind, 'continue');
  const cases: [Parameters<typeof checkHeaderSenders>[2], RegExp][] = [
    [{ from: ['Bob <bob@other.example>'], sender: [], resentFrom: [] }, /^From: <bob@other\.example>/],
    [{ from: ['alice@example.com, mallory@evil.test'], sender: [], resentFrom: [] }, /^From: <mallory@evil\.test>/],
    [{ from: ['alice@example.com'], sender: ['ceo@bank.test'], resentFrom: [] }, /^Sender: <ceo@bank\.test>/],
    [{ from: ['alice@example.com'], sender: [], resentFrom: ['x@y.test'] }, /^Resent-From: <x@y\.test>/],
    [{ from: ['"alice@example.com" <bob@other.example>'], sender: [], resentFrom: [] }, /bob@other\.example/],
  ];
  for (const [h, text] of cases) {
    const r = checkHeaderSenders(alice.address, grants, h);
    assert.equal(r.kind, 'reject', JSON.stringify(h));
    if (r.kind === 'reject') {
      assert.deepEqual([r.reply.code, r.reply.enhanced], [550, '5.7.1']);
      assert.match(r.reply.text, text);
    }
  }
  assert.equal(checkHeaderSenders(alice.address, [], { from: [], sender: [], resentFrom: [] }).kind, 'continue', 'no From: left alone');
});

test('a site (no own address) may send only as its grants, and the refusal names the site', () => {
  const siteGrants = [grant('address', 'orders@shop.example')];
  assert.equal(senderAllowed(null, siteGrants, 'orders@shop.example'), true);
  assert.equal(senderAllowed(null, siteGrants, 'alice@example.com'), false);
  assert.equal(senderAllowed(null, [], ''), false, 'no null sender without a grant');
  const r = checkHeaderSenders(null, siteGrants, { from: ['ceo@bank.test'], sender: [], resentFrom: [] }, 'site shop');
  assert.match(r.kind === 'reject' ? r.reply.text : '', /<ceo@bank\.test> is not an address site shop may send as/);
});
