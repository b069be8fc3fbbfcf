/**
 * `postern site ...` and the drop folder across a restart of `postern serve`: a website's mail
 * written while the server is down is taken in when it starts, under the same policy.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { makeWorkspace, runCli, serveYaml, ok, refused, parseJson, startServe, freePort, BIN, type Workspace } from '../helpers/cli.ts';

const workspaces: Workspace[] = [];
after(() => {
  for (const w of workspaces) fs.rmSync(w.dir, { recursive: true, force: true });
});

function setup(port: number): Workspace {
  const ws = makeWorkspace(serveYaml([{ role: 'submission', port }]));
  workspaces.push(ws);
  return ws;
}

function sendmail(ws: Workspace, tokenFile: string, args: string[], input: string): Promise<{ code: number | null; stderr: string }> {
  const env = { ...ws.env, POSTERN_SITE_TOKEN_FILE: tokenFile };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'sendmail', ...args], { cwd: '/', env, stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
    child.stdin.end(input);
  });
}

test('site add, list, grant, revoke, rotate-token and remove; the walls are checked; every change is audited', async () => {
  const ws = setup(await freePort());
  const cli = (args: string[]) => runCli(ws, args);
  ok(await cli(['customer', 'add', 'acme']), 'customer');
  ok(await cli(['customer', 'add', 'other']), 'customer 2');
  ok(await cli(['domain', 'add', 'shop.example', '--customer', 'acme']), 'domain');
  ok(await cli(['domain', 'add', 'other.example', '--customer', 'other']), 'domain 2');
  const tokenFile = path.join(ws.dir, 'site-token');
  const add = ok(
    await cli([
      'site',
      'add',
      'shop',
      '--customer',
      'acme',
      '--unix-user',
      'root',
      '--send-as',
      'Orders@shop.example',
      '--send-as',
      'noreply@shop.example',
      '--token-file',
      tokenFile,
    ]),
    'add',
  );
  assert.match(
    add.stdout,
    /^site shop added for customer acme \(unix user root\)\nmay send as: noreply@shop\.example, orders@shop\.example\ntoken: (pst_[A-Za-z0-9_-]{43})\n\(shown once\)\ntoken file: .*site-token \(mode 0600, owner root\)\n$/,
  );
  const token = /token: (pst_\S+)/.exec(add.stdout)![1]!;
  const file = fs.readFileSync(tokenFile, 'utf8');
  assert.match(file, new RegExp(`^token=${token}$`, 'm'));
  assert.match(file, new RegExp(`^socket=${path.join(ws.dataDir, 'postern.sock')}$`, 'm'));
  assert.match(file, new RegExp(`^dropDir=${path.join(ws.dataDir, 'maildrop')}$`, 'm'));
  assert.equal(fs.statSync(tokenFile).mode & 0o777, 0o600);

  refused(await cli(['site', 'add', 'shop', '--customer', 'acme', '--domain', 'shop.example']), /site shop already exists/, 'twice');
  refused(
    await cli(['site', 'add', 'evil', '--customer', 'acme', '--domain', 'other.example']),
    /other\.example is not a domain of customer acme/,
    'cross-customer',
  );
  refused(await cli(['site', 'add', 'bare', '--customer', 'acme']), /give what the site may send as/, 'no grants');
  refused(await cli(['site', 'add', 'x', '--customer', 'nobody', '--domain', 'shop.example']), /no customer named nobody/, 'no customer');
  refused(await cli(['site', 'add', 'bad name', '--customer', 'acme', '--domain', 'shop.example']), /invalid site name/, 'bad name');
  refused(await cli(['site', 'add', 'x', '--customer', 'acme', '--send-as', '<>']), /null sender/, 'null sender');

  assert.match(
    ok(await cli(['site', 'grant', 'shop', '--domain', 'shop.example']), 'grant').stdout,
    /site shop may send as any address @shop\.example/,
  );
  assert.match(
    ok(await cli(['site', 'revoke', 'shop', '--send-as', 'noreply@shop.example']), 'revoke').stdout,
    /no longer send as noreply@shop\.example/,
  );
  refused(await cli(['site', 'revoke', 'shop', '--send-as', 'noreply@shop.example']), /has no grant/, 'revoke twice');
  const rows = parseJson<{ name: string; customer: string; unixUser: string; sendAs: string; createdAt: string }[]>(
    ok(await cli(['site', 'list', '--json']), 'list'),
  );
  assert.deepEqual(rows, [
    {
      name: 'shop',
      customer: 'acme',
      unixUser: 'root',
      sendAs: 'orders@shop.example, any address @shop.example',
      createdAt: rows[0]!.createdAt,
    },
  ]);

  const rotated = ok(await cli(['site', 'rotate-token', 'shop']), 'rotate').stdout;
  assert.match(rotated, /the old one no longer works\ntoken: pst_/);
  assert.notEqual(/token: (pst_\S+)/.exec(rotated)![1], token);

  ok(await cli(['limits', 'set', 'site', 'shop', '--window', 'hour', '--messages', '50']), 'site limit');
  refused(
    await cli(['limits', 'set', 'site', 'nosuch', '--window', 'hour', '--messages', '5']),
    /no site named nosuch/,
    'limit of no site',
  );
  const limits = parseJson<{ level: string; target: string; max: number }[]>(
    ok(await cli(['limits', 'show', 'site', 'shop', '--json']), 'limits'),
  );
  assert.ok(limits.some((l) => l.level === 'site' && l.target === 'shop' && l.max === 50));

  const audit = parseJson<{ action: string; target: string; before: unknown; after: unknown }[]>(
    ok(await cli(['audit', '--target', 'site:shop', '--json']), 'audit'),
  );
  assert.deepEqual(
    audit.map((a) => a.action).reverse(),
    ['addSite', 'grantSite', 'revokeSite', 'rotateSiteToken', 'setLimit'],
    "the site's limit shares its audit target",
  );
  assert.doesNotMatch(JSON.stringify(audit), /pst_|hash/i, 'never the token nor its hash');
  assert.match(ok(await cli(['site', 'remove', 'shop']), 'remove').stdout, /site shop removed/);
  refused(await cli(['site', 'remove', 'shop']), /no site named shop/, 'remove twice');
});

test('mail written by sendmail while the server is down is taken in when postern serve starts, with the policy applied then', async () => {
  const port = await freePort();
  const ws = setup(port);
  const cli = (args: string[]) => runCli(ws, args);
  ok(await cli(['customer', 'add', 'acme', '--contact', 'admin@shop.example']), 'customer');
  ok(await cli(['domain', 'add', 'shop.example', '--customer', 'acme']), 'domain');
  const tokenFile = path.join(ws.dir, 'token');
  ok(await cli(['site', 'add', 'shop', '--customer', 'acme', '--send-as', 'orders@shop.example', '--token-file', tokenFile]), 'site');
  // the server ran once (it makes the drop folder), then stopped
  let server = await startServe(ws, 1);
  await server.stop();
  const sent = await sendmail(ws, tokenFile, ['-t', '-i'], 'From: orders@shop.example\nTo: a@remote.test\nSubject: while down\n\nbody\n');
  assert.equal(sent.code, 0, sent.stderr);
  assert.equal(sent.stderr, '');
  const forged = await sendmail(ws, tokenFile, ['-t'], 'From: ceo@bank.example\nTo: b@remote.test\nSubject: forged\n\nbody\n');
  assert.equal(forged.code, 0, 'accepted into the drop folder: the server decides when it is back');
  assert.equal(fs.readdirSync(path.join(ws.dataDir, 'maildrop')).length, 2);

  server = await startServe(ws, 1);
  try {
    const taken = server.logs.find((l) => l.evt === 'maildrop' && l.accepted === 1);
    assert.ok(taken, JSON.stringify(server.logs.filter((l) => l.evt === 'maildrop')));
    assert.deepEqual(fs.readdirSync(path.join(ws.dataDir, 'maildrop')), []);
    const queue = parseJson<{ sender: string; site: string | null; recipients: { address: string }[] }[]>(
      ok(await cli(['queue', 'list', '--json']), 'queue'),
    );
    const fromSite = queue.filter((m) => m.site === 'shop');
    assert.deepEqual(
      fromSite.map((m) => [m.sender, m.recipients[0]!.address]),
      [['orders@shop.example', 'a@remote.test']],
    );
    const bounce = queue.find((m) => m.sender === '');
    assert.deepEqual(
      bounce?.recipients.map((r) => r.address),
      ['admin@shop.example'],
      'the refused one is reported to the customer, not to the forged sender',
    );
    const shown = ok(await cli(['queue', 'list', '--site', 'shop']), 'list --site').stdout;
    assert.match(shown, /orders@shop\.example/);
  } finally {
    await server.stop();
  }
});

test('a reader that goes away early (| head) does not stop a command half-way: the token file is still written', async () => {
  const ws = setup(await freePort());
  ok(await runCli(ws, ['customer', 'add', 'acme']), 'customer');
  ok(await runCli(ws, ['domain', 'add', 'shop.example', '--customer', 'acme']), 'domain');
  const tokenFile = path.join(ws.dir, 'early-token');
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [BIN, 'site', 'add', 'shop', '--customer', 'acme', '--send-as', 'orders@shop.example', '--token-file', tokenFile],
      { cwd: ws.dir, env: ws.env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout.destroy(); // like `| head -0`
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (c) => (stderr.includes('EPIPE') ? reject(new Error(stderr)) : resolve(c)));
  });
  assert.equal(code, 0);
  assert.match(fs.readFileSync(tokenFile, 'utf8'), /^token=pst_/m);
});
