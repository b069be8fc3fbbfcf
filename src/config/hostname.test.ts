import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { canonicalFromHosts, fullHostname } from './hostname.ts';
import { shortHostname } from './check.ts';
import { parseConfig } from './load.ts';

test('the canonical name is the first dotted name of the hosts line that lists the short name', () => {
  const hosts = [
    '127.0.0.1 localhost',
    '# 10.0.0.9 vm.old.example vm',
    '127.0.1.1   mail.provider.example   mail',
    '::1 localhost ip6-localhost',
  ].join('\n');
  assert.equal(canonicalFromHosts(hosts, 'mail'), 'mail.provider.example');
  assert.equal(canonicalFromHosts(hosts, 'MAIL'), 'mail.provider.example');
  assert.equal(canonicalFromHosts(hosts, 'vm'), null, 'a commented line does not count');
  assert.equal(canonicalFromHosts('127.0.0.1 vm', 'vm'), null, 'a line with only the short name gives nothing');
  assert.equal(
    canonicalFromHosts('203.0.113.5 web mail.provider.example. mail', 'mail'),
    'mail.provider.example',
    'a later alias with the short name as its first label',
  );
});

test('fullHostname keeps a dotted kernel name and falls back to the short name', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'postern-hosts-'));
  const hosts = path.join(dir, 'hosts');
  fs.writeFileSync(hosts, '127.0.1.1 relay.example.net relay\n');
  assert.equal(fullHostname('box.example.org', hosts), 'box.example.org');
  assert.equal(fullHostname('relay', hosts), 'relay.example.net');
  assert.equal(fullHostname('lonely', hosts), 'lonely');
  assert.equal(fullHostname('lonely', path.join(dir, 'missing')), 'lonely');
});

test('the hostname default is the fully qualified name; a short one is warned about with where customers see it', () => {
  assert.equal(parseConfig({}).hostname, fullHostname());
  assert.equal(shortHostname('mail.provider.example'), null);
  const w = shortHostname('vm') ?? '';
  for (const place of ['greeting', 'Message-IDs', 'autoconfig', 'Autodiscover', 'settings page', 'SRV']) assert.match(w, new RegExp(place));
});
