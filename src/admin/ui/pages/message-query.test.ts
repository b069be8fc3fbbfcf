import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inputOf, isoOf, readQuery, readingsOf } from './message-query.ts';

const as = (s: string) => readingsOf(s).map((r) => `${r.as}=${Object.values(r.fields)[0]}`);

test('readingsOf: an address is a recipient, then a sender, then a Message-ID', () => {
  assert.deepEqual(as(' bob@remote.test '), ['recipient=bob@remote.test', 'sender=bob@remote.test', 'Message-ID=<bob@remote.test>']);
  assert.deepEqual(
    as('Bob@Remote.TEST'),
    ['recipient=bob@remote.test', 'sender=bob@remote.test', 'Message-ID=<Bob@Remote.TEST>'],
    'an address as its key; a Message-ID as typed',
  );
});

test('readingsOf: "<...>" is a Message-ID first, then the address inside it', () => {
  assert.deepEqual(as('<Abc.123@client.example>'), [
    'Message-ID=<Abc.123@client.example>',
    'recipient=abc.123@client.example',
    'sender=abc.123@client.example',
  ]);
  assert.deepEqual(as('<not an id>'), [], 'spaces: nothing');
  assert.deepEqual(as('<$$>'), ['Message-ID=<$$>'], 'brackets without an address inside: only a Message-ID');
});

test('readingsOf: a queue id is a queue id; other text with an @ a Message-ID; anything else nothing', () => {
  assert.deepEqual(as('0Q3kXbC7dZ1234567890'), ['queue id=0Q3kXbC7dZ1234567890']);
  assert.deepEqual(as('a"b@@x'), ['Message-ID=<a"b@@x>']);
  assert.deepEqual(as('example.com'), []);
  assert.deepEqual(as('short'), []);
  assert.deepEqual(as(''), []);
  assert.deepEqual(as('bob@x <y>'), []);
  assert.deepEqual(as('a<b@c'), []);
});

test('isoOf: browser dates are UTC; an "until" day is included; anything else is passed on', () => {
  assert.equal(isoOf('2025-03-01'), '2025-03-01T00:00:00.000Z');
  assert.equal(isoOf('2025-03-01', true), '2025-03-02T00:00:00.000Z');
  assert.equal(isoOf('2025-03-01T14:30'), '2025-03-01T14:30:00.000Z');
  assert.equal(isoOf('2025-03-01T14:30:15', true), '2025-03-01T14:30:15.000Z');
  assert.equal(isoOf('yesterday'), 'yesterday');
  assert.equal(isoOf(''), undefined);
  assert.equal(isoOf(undefined), undefined);
});

test('readQuery and inputOf: trimmed fields; a customer filter only for operators; the mailbox login passed on', () => {
  const q = readQuery({
    recipient: ' bob@x.test ',
    sender: '',
    status: 'failed',
    customer: 'beta',
    since: '2025-03-01',
    until: '2025-03-01',
    other: 'x',
  });
  assert.deepEqual(q, { recipient: 'bob@x.test', status: 'failed', customer: 'beta', since: '2025-03-01', until: '2025-03-01' });
  const customer = inputOf(q, { limit: 25, authUser: 'alice@example.com', operator: false });
  assert.equal(customer.customer, undefined);
  assert.equal(customer.authUser, 'alice@example.com');
  assert.deepEqual([customer.since, customer.until, customer.limit], ['2025-03-01T00:00:00.000Z', '2025-03-02T00:00:00.000Z', 25]);
  assert.equal(inputOf(q, { limit: 25, operator: true }).customer, 'beta');
  assert.equal(readQuery({ search: 'x'.repeat(5000) }).search!.length, 1000);
});
