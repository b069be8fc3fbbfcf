/**
 * Self-test of test/helpers/rspamd.ts: a real rspamd (Debian's package; contrib/ci-rspamd.sh,
 * run by .ci/run, installs it) answers /checkv2 for an outbound message the way an MTA's scan
 * would: a plain order confirmation passes, the GTUBE test string is rejected.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startRspamd, rspamdAvailable, RSPAMD_BIN, type Rspamd } from '../helpers/rspamd.ts';

const GTUBE = 'XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X';

function message(subject: string, body: string, id: string): string {
  return [
    'From: X Shop <orders@x.test>',
    'To: Bob Example <b@y.test>',
    `Subject: ${subject}`,
    'Date: Sat, 28 Nov 2026 05:00:00 +0000',
    `Message-ID: <${id}@x.test>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 7bit',
    '',
    body,
    '',
  ].join('\r\n');
}

const CLEAN = message(
  'Your order #1042 is confirmed',
  [
    'Hello Bob,',
    '',
    'thank you for your order #1042. We have received your payment and will ship',
    'your items within two working days. You can reply to this message if you',
    'have any questions about your order.',
    '',
    'Kind regards,',
    'The X Shop team',
  ].join('\r\n'),
  'order-1042',
);

interface CheckResult {
  action: string;
  score: number;
  required_score: number;
  symbols: Record<string, { score: number }>;
  messages?: Record<string, string>;
}

let rspamd: Rspamd | null = null;

async function check(msg: string): Promise<CheckResult> {
  const res = await fetch(`${rspamd!.url}/checkv2`, {
    method: 'POST',
    body: msg,
    headers: { From: 'orders@x.test', Rcpt: 'b@y.test', IP: '127.0.0.1', User: 'alice@x.test', 'Queue-Id': 'ABC' },
  });
  assert.equal(res.status, 200, `checkv2 answered ${res.status}`);
  return (await res.json()) as CheckResult;
}

before(async () => {
  assert.ok(rspamdAvailable(), `${RSPAMD_BIN} is missing: .ci/run installs it (contrib/ci-rspamd.sh: apt-get install rspamd)`);
  const t0 = Date.now();
  rspamd = await startRspamd();
  console.log(`# rspamd ready in ${Date.now() - t0} ms at ${rspamd.url}`);
});

after(async () => {
  await rspamd?.stop();
});

test('the normal and controller workers answer /ping', async () => {
  for (const url of [rspamd!.url, rspamd!.controllerUrl]) {
    const res = await fetch(`${url}/ping`);
    assert.equal((await res.text()).trim(), 'pong');
  }
});

test('a short order confirmation gets "no action"', async () => {
  const r = await check(CLEAN);
  assert.equal(r.action, 'no action', JSON.stringify(r));
  assert.equal(r.required_score, 15);
  assert.ok(r.score < 6, `score ${r.score}`);
  assert.ok(r.symbols && typeof r.symbols === 'object');
  assert.ok(!('GTUBE' in r.symbols));
});

test('the GTUBE string gets "reject"', async () => {
  const r = await check(message('test', GTUBE, 'gtube-1'));
  assert.equal(r.action, 'reject', JSON.stringify(r));
  assert.ok('GTUBE' in r.symbols, JSON.stringify(r.symbols));
});

test('stop() ends rspamd and removes its dir', async () => {
  const other = await startRspamd();
  const { dir, url } = other;
  assert.match(other.logs(), /rspamd 3\.\d+ is starting/);
  await other.stop();
  assert.equal(fs.existsSync(dir), false);
  await assert.rejects(fetch(`${url}/ping`, { signal: AbortSignal.timeout(2000) }));
});
