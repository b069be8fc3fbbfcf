import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applicable, decide, type LimitRule } from './rules.ts';

const rule = (over: Partial<LimitRule>): LimitRule => ({
  level: 'mailbox',
  target: '*',
  window: 'hour',
  metric: 'messages',
  max: 10,
  action: 'defer',
  ...over,
});
const scope = { customer: 'acme', domain: 'example.com', mailbox: 'alice@example.com' };
const T = Date.parse('2026-11-28T10:30:00Z');

test('applicable: a named target replaces the default of the same window and metric; others do not apply', () => {
  const rules = [
    rule({ max: 10 }),
    rule({ target: 'alice@example.com', max: 50 }),
    rule({ target: 'bob@example.com', max: 1 }),
    rule({ metric: 'recipients', max: 100 }),
    rule({ level: 'server', max: 1000, window: 'day' }),
    rule({ level: 'customer', target: 'other', max: 1 }),
  ];
  const a = applicable(rules, scope, T);
  assert.deepEqual(a.map((x) => `${x.rule.level}:${x.rule.target}:${x.rule.metric}:${x.rule.max}:${x.counter.target}`).sort(), [
    'mailbox:*:recipients:100:alice@example.com',
    'mailbox:alice@example.com:messages:50:alice@example.com',
    'server:*:messages:1000:*',
  ]);
  assert.equal(a.find((x) => x.rule.level === 'server')!.counter.start, Date.parse('2026-11-28T00:00:00Z'));
});

test('decide: exact at the limit; the most severe action wins; recipients count per recipient', () => {
  const a = applicable([rule({ max: 3, action: 'hold' }), rule({ metric: 'recipients', max: 10, action: 'reject' })], scope, T);
  const at = (messages: number, recipients: number) => () => ({ messages, recipients });
  assert.equal(decide(a, at(2, 0), 1).action, null, 'the 3rd message of 3 passes');
  assert.equal(decide(a, at(3, 0), 1).action, 'hold', 'the 4th is held');
  assert.equal(decide(a, at(0, 8), 2).action, null, '10 recipients of 10 pass');
  const both = decide(a, at(3, 8), 3);
  assert.equal(both.action, 'reject');
  assert.equal(both.exceeded.length, 2);
  assert.equal(both.exceeded[0]!.until, Date.parse('2026-11-28T11:00:00Z'));
});

test('applicable: a site counts at site level and never at mailbox level (and a mailbox never at site level)', () => {
  const rules = [
    rule({ max: 10 }),
    rule({ level: 'site', max: 5 }),
    rule({ level: 'site', target: 'shop', max: 7 }),
    rule({ level: 'customer', max: 100 }),
  ];
  const site = applicable(rules, { customer: 'acme', domain: 'shop.example', site: 'shop' }, T);
  assert.deepEqual(site.map((x) => `${x.rule.level}:${x.rule.target}:${x.rule.max}:${x.counter.target}`).sort(), [
    'customer:*:100:acme',
    'site:shop:7:shop',
  ]);
  const mailbox = applicable(rules, scope, T);
  assert.deepEqual(mailbox.map((x) => x.rule.level).sort(), ['customer', 'mailbox']);
});
