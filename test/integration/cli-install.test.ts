/**
 * Postern as installed software: the `postern` executable runs the built code (no TypeScript
 * loader in the process or below it), finds its configuration, never invents a store when run
 * from the wrong folder, says its version, and `config check` / `serve` name the key of what
 * they refuse.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BIN, ROOT, makeWorkspace, runCli, serveYaml, freePort, startServe, type CliResult } from '../helpers/cli.ts';

/** Runs a program to completion, collecting what it prints. */
function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      stdout += s;
    });
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      stderr += s;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Runs `postern ARGS` in a folder of its own with no configuration anywhere it looks. */
function runBare(args: string[], cwd: string): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.POSTERN_CONFIG;
  delete env.NODE_OPTIONS;
  delete env.NODE_TEST_CONTEXT;
  return run(process.execPath, [BIN, ...args], { cwd, env });
}

const systemConfig = fs.existsSync('/etc/postern/postern.yaml');

test('run from an unrelated folder without configuration, a command refuses with one line naming the store it looked for', {
  skip: systemConfig && 'this machine has /etc/postern/postern.yaml',
}, async () => {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'postern-elsewhere-')));
  for (const args of [
    ['customer', 'add', 'acme'],
    ['customer', 'list'],
    ['queue', 'list'],
    ['mailbox', 'list'],
  ]) {
    const r = await runBare(args, dir);
    assert.equal(r.code, 78, `${args.join(' ')}: EX_CONFIG; ${r.stderr}`);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `one line: ${r.stderr}`);
    assert.match(lines[0]!, new RegExp(`no Postern store at ${path.join(dir, 'data', 'postern.db').replace(/[.]/g, '\\.')}`));
    assert.match(lines[0]!, /--config FILE or POSTERN_CONFIG/);
    assert.equal(r.stdout, '');
  }
  assert.deepEqual(fs.readdirSync(dir), [], 'no data folder was made');
});

test('--version prints the package version; --help starts without the server', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'postern-version-'));
  const { version } = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
  for (const flag of ['--version', '-V']) {
    const r = await runBare([flag], dir);
    assert.equal(r.code, 0);
    assert.equal(r.stdout.trim(), version);
  }
  const help = await runBare(['--help'], dir);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /\/etc\/postern\/postern\.yaml/);
});

test('the executable runs the built code: an error trace names dist/, and no TypeScript loader runs in serve or sendmail', async (t) => {
  const ws = makeWorkspace(serveYaml([{ role: 'submission', port: await freePort() }]));
  const r = await runCli(ws, ['queue', 'show', 'NOSUCHID'], {});
  assert.notEqual(r.code, 0);
  const traced = await run(process.execPath, [BIN, 'queue', 'show', 'NOSUCHID'], { cwd: ws.dir, env: { ...ws.env, POSTERN_DEBUG: '1' } });
  assert.match(traced.stderr, /\/dist\/[\w-]+\.js:\d+/, `a stack from the bundle: ${traced.stderr}`);
  assert.doesNotMatch(traced.stderr, /\/src\/.*\.ts/);

  const serve = await startServe(ws, 1);
  t.after(() => serve.stop());
  assertNoLoader(serve.child.pid!, ['serve']);
  // sendmail waits for its message on standard input: looked at while it waits (then it finds no
  // server at that socket and leaves the message in the drop folder)
  const tokenFile = path.join(ws.dir, 'site-token');
  fs.writeFileSync(tokenFile, `token=not-a-real-token\nsocket=${path.join(ws.dir, 'no.sock')}\ndropDir=${path.join(ws.dir, 'drop')}\n`);
  const sendmail = spawn(process.execPath, [BIN, 'sendmail', '-t'], {
    env: { ...ws.env, POSTERN_SITE_TOKEN_FILE: tokenFile },
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  const closed = new Promise((resolve) => sendmail.on('close', resolve));
  await new Promise((resolve) => setTimeout(resolve, 300));
  assertNoLoader(sendmail.pid!, ['sendmail', '-t']);
  sendmail.stdin.end('To: someone@example.org\nSubject: x\n\nx\n');
  await closed;
});

/** The process runs `node bin/postern.js ARGS` with no loader flag, and has no esbuild or tsx
 *  process below it (tsx transforms through an esbuild service child of the process using it). */
function assertNoLoader(pid: number, args: string[]): void {
  const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  assert.deepEqual(cmdline.slice(1), [BIN, ...args], 'no loader flags');
  const children = fs
    .readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        return fs.readFileSync(`/proc/${d}/stat`, 'utf8').split(') ')[1]!.split(' ')[1] === String(pid);
      } catch {
        return false;
      }
    })
    .map((d) => fs.readFileSync(`/proc/${d}/cmdline`, 'utf8'));
  assert.ok(!children.some((c) => /esbuild|tsx/.test(c)), `children of ${args[0]}: ${children.join(' | ')}`);
  assert.doesNotMatch(fs.readFileSync(`/proc/${pid}/environ`, 'utf8'), /NODE_OPTIONS=[^\0]*tsx/);
}

test('config check prints the file and data folder it uses, and names the key of what serve would refuse', async () => {
  const [a, b] = [await freePort(), await freePort()];
  const ok = makeWorkspace(serveYaml([{ role: 'submission', port: a }]));
  const good = await runCli(ok, ['config', 'check']);
  assert.equal(good.code, 0, good.stderr);
  assert.match(good.stdout, new RegExp(`configuration: ${ok.config.replace(/[.]/g, '\\.')}`));
  assert.match(good.stdout, new RegExp(`data folder: ${ok.dataDir.replace(/[.]/g, '\\.')}`));
  assert.match(good.stdout, /hostname: mx\.postern\.test/);

  const bad = makeWorkspace(
    serveYaml(
      [
        { role: 'submission', port: a },
        { role: 'submissions', port: a },
        { role: 'mx', port: b },
      ],
      ['tls:', '  cert: ./missing-cert.pem', '  key: ./missing-key.pem'].join('\n'),
    ),
  );
  const r = await runCli(bad, ['config', 'check']);
  assert.equal(r.code, 78);
  assert.match(r.stderr, /tls\.cert: cannot read .*missing-cert\.pem: ENOENT/);
  assert.match(r.stderr, /tls\.key: cannot read .*missing-key\.pem: ENOENT/);
  assert.match(r.stderr, new RegExp(`listeners\\[1\\]\\.port: port ${a} on 127\\.0\\.0\\.1 is also taken by listeners\\[0\\]\\.port`));

  const s = await runCli(bad, ['serve'], { timeoutMs: 30_000 });
  assert.equal(s.code, 78, 'serve refuses what config check found');
  assert.match(s.stderr, /tls\.cert: cannot read/);
  assert.match(s.stderr, /listeners\[1\]\.port/);

  const short = makeWorkspace(serveYaml([{ role: 'submission', port: b }]).replace('hostname: mx.postern.test', 'hostname: vm'));
  const w = await runCli(short, ['config', 'check']);
  assert.equal(w.code, 0);
  assert.match(w.stderr, /warning: hostname: "vm" is not a fully qualified name; customers see it in the SMTP greeting/);
});

test('the systemd unit: a postern user, the low ports by capability, a read-only system but for the data folder, restart on failure; systemd-analyze verify accepts it', async (t) => {
  const unit = path.join(ROOT, 'contrib', 'systemd', 'postern.service');
  const text = fs.readFileSync(unit, 'utf8');
  const directives = new Map(
    text
      .split('\n')
      .filter((l) => /^\w+=/.test(l))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  for (const [key, value] of Object.entries({
    User: 'postern',
    AmbientCapabilities: 'CAP_NET_BIND_SERVICE',
    ProtectSystem: 'strict',
    ReadWritePaths: '/var/lib/postern',
    Restart: 'on-failure',
    KillSignal: 'SIGTERM',
    NoNewPrivileges: 'true',
  }))
    assert.equal(directives.get(key), value, key);
  assert.match(directives.get('ExecStart') ?? '', /bin\/postern\.js serve --config \/etc\/postern\/postern\.yaml$/);
  // open sessions get smtp-server's 30 s close timeout; the stop timeout must leave room for it
  assert.ok(Number(directives.get('TimeoutStopSec')) > 30, 'TimeoutStopSec leaves the sessions their 30 s');
  const analyze = ['/usr/bin/systemd-analyze', '/bin/systemd-analyze'].find((p) => fs.existsSync(p));
  if (!analyze) return t.skip('systemd-analyze is not installed');
  const r = await run(analyze, ['verify', unit]);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /postern\.service:\d+:/, `no complaint about a line of the unit: ${r.stderr}`);
});
