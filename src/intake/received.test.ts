import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildReceived, protocolName, type ReceivedInfo } from './received.ts';

const NOW = new Date(Date.UTC(2026, 10, 27, 23, 35, 3));

function receivedInfo(over: Partial<ReceivedInfo> = {}): ReceivedInfo {
  return {
    heloName: 'client.example',
    clientHostname: null,
    clientIp: '127.0.0.1',
    hostname: 'mx.postern.test',
    queueId: '0Bz9KxQ7mN3pLwR5tV8c',
    tls: { version: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384' },
    authenticated: true,
    singleRecipient: 'bob@remote.test',
    now: NOW,
    ...over,
  };
}

test('Received: from, by, protocol, id, TLS, for and date on CRLF+TAB folded lines', () => {
  assert.equal(
    buildReceived(receivedInfo()),
    'from client.example ([127.0.0.1])\r\n' +
      '\tby mx.postern.test (Postern) with ESMTPSA id 0Bz9KxQ7mN3pLwR5tV8c\r\n' +
      '\t(version=TLSv1.3 cipher=TLS_AES_256_GCM_SHA384)\r\n' +
      '\tfor <bob@remote.test>; Fri, 27 Nov 2026 23:35:03 +0000',
  );
  assert.match(buildReceived(receivedInfo({ clientHostname: 'c.example' })), /^from client\.example \(c\.example \[127\.0\.0\.1\]\)/);
});

test('Received protocol names follow RFC 3848', () => {
  assert.equal(protocolName(true, true, true), 'ESMTPSA');
  assert.equal(protocolName(true, false, true), 'ESMTPA');
  assert.equal(protocolName(true, true, false), 'ESMTPS');
  assert.equal(protocolName(true, false, false), 'ESMTP');
  assert.match(buildReceived(receivedInfo({ tls: null })), /with ESMTPA id /);
  assert.doesNotMatch(buildReceived(receivedInfo({ tls: null })), /version=/);
  assert.match(buildReceived(receivedInfo({ authenticated: false, tls: null })), /with ESMTP id /);
});

test('Received: IPv6 literal, no "for" with several recipients, client-controlled text cannot break the line', () => {
  const r = buildReceived(
    receivedInfo({
      clientIp: '::1',
      singleRecipient: null,
      heloName: 'evil\r\nX-Injected: yes (comment) \\',
      clientHostname: 'host\r\nname',
    }),
  );
  assert.match(r, /^from evil(?:X-Injected:yes|X-Injectedyes)?[^\r\n]* \(hostname \[IPv6:::1\]\)\r\n\tby /);
  assert.doesNotMatch(r, /for </);
  assert.doesNotMatch(r, /\r\nX-Injected/);
  assert.doesNotMatch(r.replace(/\r\n\t/g, ''), /[\r\n]/);
});
