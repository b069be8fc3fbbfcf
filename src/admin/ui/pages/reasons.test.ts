import { test } from 'node:test';
import assert from 'node:assert/strict';
import { enhancedOf, explain } from './reasons.ts';

test('enhancedOf: the enhanced code of a reply, or the class of a bare basic code', () => {
  assert.equal(enhancedOf('550 5.1.1 no such user here'), '5.1.1');
  assert.equal(enhancedOf('550-5.7.1 multi\r\n550 5.7.1 line'), '5.7.1');
  assert.equal(enhancedOf('4.2.2 over quota'), '4.2.2');
  assert.equal(enhancedOf('554 go away'), '5.0.0');
  assert.equal(enhancedOf('451 later'), '4.0.0');
  assert.equal(enhancedOf('250 2.0.0 ok'), '2.0.0');
  assert.equal(enhancedOf('connect ECONNREFUSED'), null);
  assert.equal(enhancedOf(null), null);
});

test('explain: the code decides first, then the category, then the class; nothing for a success', () => {
  const cases: [string | null, string | null, RegExp | null][] = [
    ['550 5.1.1 no such user here', 'mailbox-unknown', /mailbox does not exist/],
    ['550 5.1.1 whatever', null, /mailbox does not exist/],
    ['550 user unknown', 'mailbox-unknown', /mailbox does not exist/],
    ['552 5.2.2 mailbox full', 'mailbox-full', /mailbox is full\. The recipient must make room/],
    ['452 4.2.2 over quota', 'mailbox-full', /mailbox is full for now/],
    ['550 5.1.10 null MX', 'dns', /domain does not receive mail/],
    ['552 5.3.4 too big', 'message-too-big', /too large/],
    ['554 5.7.1 listed at spamhaus', 'spam', /as spam/],
    ['550 5.7.1 relay denied', 'policy', /refused the message by its policy/],
    ['451 4.7.1 greylisted', 'greylisted', /greylisting/],
    ['421 4.7.28 rate limited', 'rate-limited', /too much mail from us/],
    ['530 5.7.10 encryption needed', 'tls', /encryption/],
    ['451 4.3.0 try later', 'other', /temporary problem/],
    ['554 5.6.0 bad content', 'protocol', /format or the content/],
    ['554 5.0.0 no', 'other', /refused the message permanently/],
    ['500 5.5.2 syntax', 'protocol', /could not understand/],
    ['451 4.4.1 no answer', 'expired', /gave up/],
    ['connect ECONNREFUSED', 'network', /could not connect/],
    ['Greeting never received', 'timeout', /did not answer in time/],
    ['rejected (5xx) after DATA: suppressed', 'suppressed', /suppression list/],
    ['250 2.0.0 ok', 'ok', null],
    [null, null, null],
  ];
  for (const [reply, category, want] of cases) {
    const got = explain(reply, category);
    if (want === null) assert.equal(got, null, `${reply} ${category}`);
    else assert.match(got ?? '', want, `${reply} ${category}`);
  }
});
