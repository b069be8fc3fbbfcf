import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkOne, queryName } from './blocklists.ts';

test('query names: reversed IPv4 octets; reversed IPv6 nibbles of the full address', () => {
  assert.equal(queryName('192.0.2.99', 'bl.test'), '99.2.0.192.bl.test');
  assert.equal(queryName('2001:db8::1', 'bl.test'), `1.0.0.0.${'0.'.repeat(20)}8.b.d.0.1.0.0.2.bl.test`);
  assert.equal(queryName('2001:db8::1', 'bl.test').split('.').length, 32 + 2);
});

test("an answer among the zone's codes is a listing; NXDOMAIN is not; other answers and failures decide nothing", async () => {
  const zone = { zone: 'bl.test', codes: { '127.0.0.2': 'SBL', '127.0.0.4': 'XBL' } };
  const answering = (answers: string[] | string) => async () => {
    if (typeof answers === 'string') throw Object.assign(new Error(answers), { code: answers });
    return answers;
  };
  assert.deepEqual(await checkOne(answering(['127.0.0.4', '127.0.0.2']), '192.0.2.1', zone), {
    listed: true,
    codes: ['127.0.0.4', '127.0.0.2'],
    meaning: 'XBL, SBL',
  });
  assert.deepEqual(await checkOne(answering('ENOTFOUND'), '192.0.2.1', zone), { listed: false, codes: [], meaning: null });
  assert.deepEqual(await checkOne(answering(['127.255.255.254']), '192.0.2.1', zone), {
    error: 'answered 127.255.255.254: none of its configured return codes',
  });
  assert.deepEqual(await checkOne(answering('ETIMEOUT'), '192.0.2.1', zone), { error: 'lookup failed (ETIMEOUT)' });
});
