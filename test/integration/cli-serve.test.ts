/**
 * `postern serve` as a child process next to the CLI: the server sees mailboxes, password
 * changes and suspensions made by the CLI at once, without a restart; a port that cannot be
 * bound ends serve with one clear line.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import nodemailer from 'nodemailer';
import {
  makeWorkspace,
  runCli,
  serveYaml,
  freePorts,
  occupyPort,
  startServe,
  spawnServe,
  ok,
  parseJson,
  type Workspace,
  type ServeProcess,
} from '../helpers/cli.ts';

const workspaces: Workspace[] = [];
const servers: ServeProcess[] = [];
after(async () => {
  for (const s of servers) await s.stop();
  for (const w of workspaces) fs.rmSync(w.dir, { recursive: true, force: true });
});

test('a running server sees a mailbox added by the CLI, and refuses a changed password at once', async () => {
  const [sub, subs] = await freePorts(2);
  const ws = makeWorkspace(
    serveYaml([
      { role: 'submission', port: sub },
      { role: 'submissions', port: subs },
    ]),
  );
  workspaces.push(ws);
  const cli = (args: string[], input?: string) => runCli(ws, args, { input });
  ok(await cli(['customer', 'add', 'acme']), 'customer add');
  ok(await cli(['domain', 'add', 'example.com', '--customer', 'acme']), 'domain add');
  const server = await startServe(ws, 2);
  servers.push(server);

  const transport = (user: string, pass: string, secure = false) =>
    nodemailer.createTransport({
      host: '127.0.0.1',
      port: secure ? subs : sub,
      secure,
      requireTLS: !secure,
      auth: { user, pass },
      tls: { rejectUnauthorized: false },
    });
  const refusedLogin = (user: string, pass: string, re = /^535 5\.7\.8 /) =>
    assert.rejects(transport(user, pass).verify(), (err: Error & { response?: string }) => {
      assert.match(err.response ?? String(err), re);
      return true;
    });

  await refusedLogin('carol@example.com', 'carol-password-1');
  ok(await cli(['mailbox', 'add', 'carol@example.com', '--password-stdin'], 'carol-password-1\n'), 'mailbox add');
  assert.equal(await transport('carol@example.com', 'carol-password-1').verify(), true, 'the new mailbox logs in without a restart');
  const info = await transport('carol@example.com', 'carol-password-1', true).sendMail({
    from: 'carol@example.com',
    to: 'dave@remote.test',
    subject: 'hi',
    text: 'hello from carol',
  });
  const qid = /queued as (\S+)/.exec(info.response)?.[1];
  assert.ok(qid, info.response);

  // a generated password works as printed
  const g = ok(await cli(['mailbox', 'add', 'erin@example.com']), 'mailbox add (generated)');
  const erinPw = /password: (\S+)/.exec(g.stdout)![1];
  assert.equal(await transport('erin@example.com', erinPw).verify(), true);

  // the old password was just used (so it may sit in the login cache): refused right after passwd
  ok(await cli(['mailbox', 'passwd', 'carol@example.com', '--password-stdin'], 'carol-password-2\n'), 'passwd');
  await refusedLogin('carol@example.com', 'carol-password-1');
  assert.equal(await transport('carol@example.com', 'carol-password-2').verify(), true);

  // suspension and resumption take effect at once too
  ok(await cli(['mailbox', 'suspend', 'carol@example.com']), 'suspend');
  await refusedLogin('carol@example.com', 'carol-password-2', /^535 5\.7\.8 .*suspended/);
  ok(await cli(['mailbox', 'resume', 'carol@example.com']), 'resume');
  assert.equal(await transport('carol@example.com', 'carol-password-2').verify(), true);

  // the CLI sees what the running server queued
  const queued = parseJson<{ id: string; recipients: { address: string }[] }[]>(ok(await cli(['queue', 'list', '--json']), 'queue list'));
  assert.deepEqual(
    queued.map((m) => [m.id, m.recipients.map((r) => r.address)]),
    [[qid, ['dave@remote.test']]],
  );

  const stopped = await server.stop();
  assert.equal(stopped.code, 0, `serve stops cleanly on SIGTERM; stderr: ${server.stderr()}`);
  assert.equal(server.stderr(), '', 'nothing on stderr during a normal run');
});

test('a port that cannot be bound: serve exits non-zero with one stderr line naming the port and a remedy', async () => {
  const blocker = await occupyPort();
  try {
    const taken = (blocker.address() as { port: number }).port;
    const [free] = await freePorts(1);
    const ws = makeWorkspace(
      serveYaml([
        { role: 'submission', port: free },
        { role: 'submissions', port: taken },
      ]),
    );
    workspaces.push(ws);
    const p = spawnServe(ws);
    servers.push(p);
    const guard = setTimeout(() => p.child.kill('SIGKILL'), 90_000);
    const { code, signal } = await p.exited;
    clearTimeout(guard);
    assert.equal(signal, null, `exited by itself; stderr: ${p.stderr()}`);
    assert.notEqual(code, 0);
    const lines = p.stderr().trimEnd().split('\n');
    assert.equal(lines.length, 1, `one stderr line, got:\n${p.stderr()}`);
    assert.match(lines[0], new RegExp(`127\\.0\\.0\\.1:${taken}\\b`), 'names the address and port');
    assert.match(lines[0], /\(submissions\)/, 'names the listener role');
    assert.match(lines[0], /EADDRINUSE/);
    assert.match(lines[0], /set another port|stop it/, 'names a remedy');
    assert.doesNotMatch(lines[0], new RegExp(`:${free}\\b`), 'the free port is not blamed');
  } finally {
    await new Promise((r) => blocker.close(r));
  }
});
