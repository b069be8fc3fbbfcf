/**
 * Durability: a 250 after DATA means the message survives kill -9. `postern serve` runs as a
 * child process; messages go in on several concurrent connections; the child is killed with
 * SIGKILL right after the last 250 and started again on the same dataDir, and every accepted
 * queue id must be queued with its recipients and a complete body. Start-up removes a body
 * file that has no queue row (an orphan).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import nodemailer from 'nodemailer';
import { createSqliteStore } from '../../src/store/sqlite/index.ts';
import {
  makeWorkspace,
  runCli,
  serveYaml,
  freePorts,
  startServe,
  ok,
  parseJson,
  type Workspace,
  type ServeProcess,
} from '../helpers/cli.ts';

const N = 40;
const CONNECTIONS = 6;
const PASSWORD = 'alice-Durable-pw-7';

let ws: Workspace | undefined;
const servers: ServeProcess[] = [];
after(async () => {
  for (const s of servers) await s.stop();
  if (ws) fs.rmSync(ws.dir, { recursive: true, force: true });
});

interface QueueRow {
  id: string;
  state: string;
  sender: string;
  size: number;
  authUser: string | null;
  recipients: { address: string; state: string }[];
}

/** A body whose last line is unique to the message: even messages (~7 KiB) go over the
 *  4 KiB inline limit of this test's config and are spooled as files, odd ones (~1 KiB) are
 *  stored in their queue row; both kinds must survive. */
const lineCount = (i: number) => (i % 2 === 0 ? 120 : 15);
function text(i: number): { text: string; last: string } {
  const last = `END-OF-MESSAGE ${i} 7f3a9c`;
  const lines = Array.from({ length: lineCount(i) }, (_, k) => `message ${i} line ${k} ${'x'.repeat(40)}`);
  return { text: [...lines, last].join('\r\n'), last };
}

test('every message answered 250 survives kill -9; start-up sweeps orphan bodies', async () => {
  const [sub, subs] = await freePorts(2);
  ws = makeWorkspace(
    serveYaml(
      [
        { role: 'submission', port: sub },
        { role: 'submissions', port: subs },
      ],
      'queue:\n  inlineBodyMaxBytes: 4096',
    ),
    'postern-crash-',
  );
  const w = ws;
  ok(await runCli(w, ['customer', 'add', 'acme']), 'customer add');
  ok(await runCli(w, ['domain', 'add', 'example.com', '--customer', 'acme']), 'domain add');
  ok(await runCli(w, ['mailbox', 'add', 'alice@example.com', '--password-stdin'], { input: `${PASSWORD}\n` }), 'mailbox add');

  const first = await startServe(w, 2);
  servers.push(first);

  const transport = nodemailer.createTransport({
    pool: true,
    maxConnections: CONNECTIONS,
    maxMessages: Infinity,
    host: '127.0.0.1',
    port: sub,
    secure: false,
    requireTLS: true,
    auth: { user: 'alice@example.com', pass: PASSWORD },
    tls: { rejectUnauthorized: false },
  });
  const accepted = new Map<string, { i: number; rcpts: string[]; last: string }>();
  try {
    await Promise.all(
      Array.from({ length: N }, async (_, i) => {
        const body = text(i);
        const rcpts = [`rcpt${i}@remote.test`, 'shared@other.test'];
        const info = await transport.sendMail({
          from: 'alice@example.com',
          to: rcpts[0],
          cc: rcpts[1],
          subject: `durable ${i}`,
          text: body.text,
        });
        const id = /^250 2\.0\.0 .*queued as (\S+)/.exec(info.response)?.[1];
        assert.ok(id, `250 with a queue id: ${info.response}`);
        assert.ok(!accepted.has(id), `queue id ${id} given twice`);
        accepted.set(id, { i, rcpts, last: body.last });
      }),
    );
    // right after the last 250: no goodbye, no flush
    first.child.kill('SIGKILL');
  } finally {
    transport.close();
  }
  const killed = await first.exited;
  assert.equal(killed.signal, 'SIGKILL');
  assert.equal(accepted.size, N);
  // logins happen long before the last 250, so their log lines are out before the kill
  const connections = new Set(first.logs.filter((l) => l.evt === 'auth' && l.result === 'ok').map((l) => l.sid));
  assert.ok(connections.size > 1, `messages came in on several connections (${connections.size})`);

  // an orphan: a body file in the spool with no queue row (as a crash mid-DATA leaves behind)
  const qdir = path.join(w.dataDir, 'spool', 'q');
  const orphan = path.join(qdir, '0000000000ORPHAN0000');
  fs.writeFileSync(orphan, 'Subject: half a message\r\n\r\nnever answe');

  const second = await startServe(w, 2);
  servers.push(second);
  const recovery = second.logs.find((l) => l.evt === 'recovery');
  assert.ok(recovery, 'start-up logs its recovery');
  assert.equal(recovery.queued, N);
  assert.equal(recovery.orphansRemoved, 1);
  assert.equal(fs.existsSync(orphan), false, 'the orphan body was removed');

  const queued = parseJson<QueueRow[]>(ok(await runCli(w, ['queue', 'list', '--json']), 'queue list'));
  const byId = new Map(queued.map((m) => [m.id, m]));
  const store = createSqliteStore({ path: path.join(w.dataDir, 'postern.db') });
  const spooled: string[] = [];
  for (const [id, sent] of accepted) {
    const m = byId.get(id);
    assert.ok(m, `accepted message ${id} (#${sent.i}) is queued after kill -9`);
    assert.equal(m.state, 'queued');
    assert.equal(m.sender, 'alice@example.com');
    assert.equal(m.authUser, 'alice@example.com');
    assert.deepEqual(m.recipients.map((r) => r.address).sort(), [...sent.rcpts].sort(), `recipients of ${id}`);
    assert.ok(m.recipients.every((r) => r.state === 'queued'));

    const row = (await store.queue.get(id))!;
    let bodyBytes: Buffer;
    if (row.bodyPath) {
      spooled.push(id);
      const file = path.join(w.dataDir, 'spool', row.bodyPath);
      assert.ok(fs.existsSync(file), `body file of ${id} exists`);
      bodyBytes = fs.readFileSync(file);
    } else {
      bodyBytes = (await store.queue.inlineBody(id))!;
      assert.ok(bodyBytes, `inline body of ${id} exists`);
    }
    assert.equal(bodyBytes.length, m.size, `body of ${id} has the queued size`);
    const content = bodyBytes.toString('utf8');
    assert.ok(content.trimEnd().endsWith(sent.last), `body of ${id} is complete (ends with its last line)`);
    assert.match(content, new RegExp(`^Received: from [^\\r\\n]+\\r\\n\\tby mx\\.postern\\.test \\(Postern\\) with ESMTPSA id ${id}`));
    assert.match(content, new RegExp(`\\r\\nSubject: durable ${sent.i}\\r\\n`));
    for (let k = 0; k < lineCount(sent.i); k++) assert.ok(content.includes(`message ${sent.i} line ${k} `), `line ${k} of ${id}`);
    assert.ok(!content.includes(PASSWORD), 'no password in the spool');
  }
  await store.close();
  assert.equal(queued.length, N, 'nothing else is queued');
  assert.equal(spooled.length, N / 2, 'the large half was spooled to files, the small half stored inline');
  assert.deepEqual(fs.readdirSync(qdir).sort(), spooled.sort(), 'the spool holds exactly the spooled bodies');

  // the restarted server takes mail again on the same dataDir
  const again = nodemailer.createTransport({
    host: '127.0.0.1',
    port: subs,
    secure: true,
    auth: { user: 'alice@example.com', pass: PASSWORD },
    tls: { rejectUnauthorized: false },
  });
  const info = await again.sendMail({ from: 'alice@example.com', to: 'after@remote.test', subject: 'after restart', text: 'still here' });
  assert.match(info.response, /^250 2\.0\.0 /);

  const stopped = await second.stop();
  assert.equal(stopped.code, 0, `clean stop; stderr: ${second.stderr()}`);
});
