import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAddress, normalizeDomain, addressKey, formatAddress, domainOf } from './address.ts';

test('normalizeDomain: lower-case, trailing dot removed, IDN to punycode A-labels', () => {
  assert.equal(normalizeDomain('Example.COM'), 'example.com');
  assert.equal(normalizeDomain('example.com.'), 'example.com');
  assert.equal(normalizeDomain('  mail.example.org  '), 'mail.example.org');
  assert.equal(normalizeDomain('bücher.example'), 'xn--bcher-kva.example');
  assert.equal(normalizeDomain('BÜCHER.Example'), 'xn--bcher-kva.example');
  assert.equal(normalizeDomain('xn--bcher-kva.example'), 'xn--bcher-kva.example');
  assert.equal(normalizeDomain('münchen.de'), 'xn--mnchen-3ya.de');
  assert.equal(normalizeDomain('例え.テスト'), 'xn--r8jz45g.xn--zckzah');
  assert.equal(normalizeDomain('a-b.c-d.example'), 'a-b.c-d.example');
  assert.equal(normalizeDomain(`${'a'.repeat(63)}.example`), `${'a'.repeat(63)}.example`);
});

test('normalizeDomain: invalid names are null', () => {
  for (const bad of [
    '',
    ' ',
    '.',
    'localhost',
    'example',
    '-bad.example',
    'bad-.example',
    'a..example',
    '.example.com',
    'under_score.example',
    'sp ace.example',
    'exa!mple.com',
    '[127.0.0.1]',
    'a@b.example',
    `${'a'.repeat(64)}.example`,
    `${'a.'.repeat(127)}example`,
  ]) {
    assert.equal(normalizeDomain(bad), null, JSON.stringify(bad));
  }
});

test('normalizeDomain: the 253-octet limit applies to the A-label form', () => {
  // Each label is 35 characters as Unicode but a 53-character A-label: five of them are 179
  // characters as typed and 269 octets on the wire, too long for DNS (RFC 1035: 255 octets).
  const label = 'äöüéèêëàâîïôabcdefghijklmnopqrstuvw';
  const unicode = [label, label, label, label, label].join('.');
  assert.ok(unicode.length < 253);
  const ascii = normalizeDomain(unicode);
  assert.ok(ascii === null || ascii.length <= 253, `got ${ascii?.length} octets: ${ascii}`);
});

test('parseAddress: local part as given, domain normalised', () => {
  assert.deepEqual(parseAddress('Alice.Smith@Example.COM'), { local: 'Alice.Smith', domain: 'example.com' });
  assert.deepEqual(parseAddress('user+tag@bücher.example'), { local: 'user+tag', domain: 'xn--bcher-kva.example' });
  assert.deepEqual(parseAddress("o'brien_x-y=z@example.com"), { local: "o'brien_x-y=z", domain: 'example.com' });
  assert.deepEqual(parseAddress('"john doe"@example.com'), { local: '"john doe"', domain: 'example.com' });
  assert.deepEqual(parseAddress('"a@b"@example.com'), { local: '"a@b"', domain: 'example.com' });
  assert.deepEqual(parseAddress('jöran@example.com'), { local: 'jöran', domain: 'example.com' });
  assert.deepEqual(parseAddress(`${'x'.repeat(64)}@example.com`), { local: 'x'.repeat(64), domain: 'example.com' });
});

test('parseAddress: invalid addresses are null', () => {
  for (const bad of [
    '',
    '@',
    'alice',
    'alice@',
    '@example.com',
    'alice@localhost',
    'alice@@example.com',
    '.alice@example.com',
    'alice.@example.com',
    'al..ice@example.com',
    'al ice@example.com',
    'alice@exa mple.com',
    'alice@-example.com',
    'alice@[127.0.0.1]',
    '<alice@example.com>',
    'alice@example.com\r\nRCPT TO:<x@y.example>',
    '"unterminated@example.com',
    'a"b@example.com',
    `${'x'.repeat(65)}@example.com`,
    'alice(comment)@example.com',
  ]) {
    assert.equal(parseAddress(bad), null, JSON.stringify(bad));
  }
});

test('addressKey lower-cases the whole address; formatAddress and domainOf', () => {
  assert.equal(addressKey('Alice.Smith@Example.COM'), 'alice.smith@example.com');
  assert.equal(addressKey('ALICE@BÜCHER.example'), 'alice@xn--bcher-kva.example');
  assert.equal(addressKey('not an address'), null);
  assert.equal(addressKey('Alice@Example.com'), addressKey('alice@example.COM'));
  assert.equal(formatAddress({ local: 'Alice', domain: 'example.com' }), 'Alice@example.com');
  assert.equal(formatAddress(parseAddress('Bob@Bücher.Example')!), 'Bob@xn--bcher-kva.example');
  assert.equal(domainOf('x@Sub.Example.org'), 'sub.example.org');
  assert.equal(domainOf('nope'), null);
});

test('normalizeDomain: the plain-ASCII shortcut gives what domainToASCII gives', async () => {
  const { domainToASCII } = await import('node:url');
  const slow = (d: string) => {
    const ascii = domainToASCII(d.trim().replace(/\.$/, '').toLowerCase());
    return ascii && ascii.split('.').length >= 2 && ascii.split('.').every((l) => /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(l))
      ? ascii
      : null;
  };
  for (const d of [
    'example.com',
    'Mail.Example.COM.',
    'a..b.com',
    '-a.com',
    'a-.com',
    'a_b.com',
    '1.2.3.4',
    '0x7f.1',
    '0177.0.0.1',
    'x.0x7f',
    'a.b1',
    'host.c0m',
    'xn--caf-dma.com',
    'xn--zz.com',
    'café.example',
    'localhost',
    'a.com-',
    `${'a'.repeat(64)}.com`,
  ]) {
    assert.equal(normalizeDomain(d), slow(d), d);
  }
});
