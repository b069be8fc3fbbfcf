/**
 * Content scanning against a real rspamd (Debian's package, started on loopback by the test
 * with a test configuration): GTUBE is refused with a reference, a normal order confirmation
 * reaches the queue untouched except for the X-Spam headers on top of what is delivered.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startRspamd, type Rspamd } from '../helpers/rspamd.ts';
import { EICAR, startClamd, type Clamd } from '../helpers/clamd.ts';
import { startDeliveryLab, until, type DeliveryLab } from '../helpers/delivery-lab.ts';
import type { FakeMx } from '../helpers/fake-mx.ts';

const GTUBE = 'XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X';

let rspamd: Rspamd;
let clamd: Clamd;
let lab: DeliveryLab;
let mx: FakeMx;

before(async () => {
  clamd = await startClamd();
  rspamd = await startRspamd({ clamdSocket: clamd.socket });
  lab = await startDeliveryLab(
    {
      'remote.test': { MX: [{ preference: 10, exchange: 'mx1.remote.test' }] },
      'mx1.remote.test': { A: ['127.0.0.2'] },
    },
    {},
    { scan: { enabled: true, url: rspamd.url, timeoutSeconds: 20 } } as never,
  );
  mx = await lab.mx('127.0.0.2', {});
});
after(async () => {
  await lab?.close();
  await rspamd?.stop();
  await clamd?.stop();
});

test('GTUBE from a hosted mailbox is refused at submission with 550 5.7.1 and a reference; nothing is queued', async () => {
  const before = await lab.s.server.store.queue.count();
  await assert.rejects(
    lab.submit({ to: 'bob@remote.test', subject: 'buy now', text: `Hello\r\n${GTUBE}\r\n` }),
    (err: Error & { response?: string }) => {
      assert.match(
        err.response ?? '',
        /^550 5\.7\.1 Message refused as spam \(reference \S+\); quote this reference to your provider's support$/,
      );
      return true;
    },
  );
  assert.equal(await lab.s.server.store.queue.count(), before);
  const log = lab.s.logs.find((l) => l.evt === 'scan' && l.action === 'reject');
  assert.equal(log?.rspamd, 'reject');
});

test('a normal order confirmation passes untouched except for the X-Spam headers on top', async () => {
  const text = 'Dear customer,\r\n\r\nthank you for your order 4711 of 2 items. It will ship tomorrow.\r\n\r\nKind regards\r\nThe shop\r\n';
  const id = await lab.submit({ to: 'bob@remote.test', subject: 'Your order 4711', text });
  const got = await until(() => mx.received.find((m) => m.data.toString().includes(`id ${id}`)), 10_000, 'delivery');
  const raw = got.data.toString();
  assert.match(raw, /^X-Spam-Status: No, score=-?\d+\.\d\d required=6\.00\r\nX-Spam-Score: -?\d+\.\d\d\r\nReceived: /);
  const rest = raw.slice(raw.indexOf('Received: '));
  assert.doesNotMatch(rest, /^X-Spam|^X-Rspamd/im, 'no other header was added');
  assert.match(rest, /\r\nSubject: Your order 4711\r\n/, 'the subject is not rewritten');
  assert.ok(rest.endsWith(`\r\n\r\n${text}`), 'the body is untouched');
});

test('a virus (ClamAV through rspamd, the EICAR test file attached) is refused, whatever the score', async () => {
  await assert.rejects(
    lab.submit({
      to: 'bob@remote.test',
      subject: 'invoice',
      text: 'see the attachment',
      attachments: [{ filename: 'invoice.com', content: EICAR }],
    }),
    (err: Error & { response?: string }) => {
      assert.match(
        err.response ?? '',
        /^550 5\.7\.1 Message refused: it contains a virus \(reference \S+\); remove the infected attachment$/,
      );
      return true;
    },
  );
  const log = lab.s.logs.find((l) => l.evt === 'scan' && l.virus === true);
  assert.ok((log?.symbols as string[] | undefined)?.includes('CLAM_VIRUS'), JSON.stringify(log));
});
