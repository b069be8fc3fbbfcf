/**
 * Interoperability: Postern delivers to a real Postfix as the recipient MX. The Postfix peer of
 * ../shared/lab (postfix-peer.sh, installed by .ci/run) takes mail for hosted.test on
 * 127.0.0.1:10025 with STARTTLS and hands it to its smtp-sink; the fake DNS points hosted.test
 * there. The lab is started if needed and stopped again only if this test started it.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from '../helpers/cli.ts';
import { startDeliveryLab, until, type DeliveryLab } from '../helpers/delivery-lab.ts';

const PEER = path.resolve(ROOT, '..', 'shared', 'lab', 'postfix-peer.sh');
const POSTFIX_LOG = path.join(process.env.PEER_DIR ?? '/tmp/peerlab', 'log', 'postfix.log'); // the lab's PEER_DIR

const peer = (cmd: string) => execFileSync('bash', [PEER, cmd], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });

let startedHere = false;
let lab: DeliveryLab | null = null;

before(() => {
  assert.ok(fs.existsSync(PEER), `the Postfix lab is missing: ${PEER}`);
  if (!/^postfix : running/m.test(peer('status'))) {
    peer('start');
    startedHere = true;
  }
});
after(async () => {
  await lab?.close();
  if (startedHere) peer('stop');
});

function sinkCount(): number {
  return Number(peer('sink-count').trim()) || 0;
}

test('delivers to a real Postfix MX over STARTTLS, with the DSN parameters Postfix offers', async () => {
  lab = await startDeliveryLab(
    { 'hosted.test': { MX: [{ preference: 10, exchange: 'lab.example.test' }] }, 'lab.example.test': { A: ['127.0.0.1'] } },
    { mxPort: 10025 },
  );
  const sunk = sinkCount();
  const marker = `interop-${Date.now()}`;
  const id = await lab.submit({
    to: 'info@hosted.test',
    subject: marker,
    text: 'to Postfix',
    dsn: { notify: ['FAILURE', 'DELAY'], orcpt: 'info@hosted.test' },
  });
  const log = await until(() => lab!.s.logs.find((l) => l.evt === 'delivery' && l.qid === id), 15_000, 'the outcome');
  assert.equal(log.result, 'delivered', String(log.reply));
  assert.match(String(log.reply), /^250 2\.0\.0 Ok: queued as /);
  assert.match(String(log.remote), /lab\.example\.test\[127\.0\.0\.1\]:10025/);
  await until(() => sinkCount() > sunk, 15_000, 'Postfix to hand the message to its sink');
  const postfixQid = /queued as (\S+)/.exec(String(log.reply))![1]!;
  const pfLog = fs.readFileSync(POSTFIX_LOG, 'utf8');
  const lines = pfLog.split('\n').filter((l) => l.includes(postfixQid));
  assert.ok(
    lines.some((l) => /from=<alice@example\.com>/.test(l)),
    `Postfix logged the sender:\n${lines.join('\n')}`,
  );
  assert.ok(
    lines.some((l) => /to=<info@hosted\.test>.*status=sent/.test(l)),
    `Postfix relayed it:\n${lines.join('\n')}`,
  );
  assert.ok(lines.some((l) => /orig_to=<info@hosted\.test>|to=<info@hosted\.test>/.test(l)));
  // the smtpd process that took it says how the session went: STARTTLS, then our RSET for reuse
  const pid = new RegExp(`smtpd\\[(\\d+)\\]: ${postfixQid}: client=`).exec(pfLog)?.[1];
  assert.ok(pid, 'the smtpd process of the message');
  const after = (text: string) => text.slice(text.indexOf(`${postfixQid}: client=`));
  const summary = await until(
    () => new RegExp(`smtpd\\[${pid}\\]: disconnect from [^\\n]*`).exec(after(fs.readFileSync(POSTFIX_LOG, 'utf8')))?.[0],
    15_000,
    'the session summary',
  );
  assert.match(summary, / ehlo=2 starttls=1 mail=1 rcpt=1 data=1 /);
  assert.equal(await lab.s.server.store.queue.count(), 0);
});
