/**
 * The real `postern` executable refusing things: one clear line on stderr, a non-zero exit and
 * an unchanged store; `config check` on good and bad files.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { makeWorkspace, runCli, serveYaml, ok, refused, parseJson, type Workspace } from '../helpers/cli.ts';

const workspaces: Workspace[] = [];
function workspace(yaml: string): Workspace {
  const w = makeWorkspace(yaml);
  workspaces.push(w);
  return w;
}
let ws: Workspace;
const cli = (args: string[], input?: string) => runCli(ws, args, { input });

before(() => {
  ws = workspace(
    serveYaml([
      { role: 'submission', port: 10587 },
      { role: 'submissions', port: 10465 },
    ]),
  );
});
after(() => {
  for (const w of workspaces) fs.rmSync(w.dir, { recursive: true, force: true });
});

test('a domain for an unknown customer is refused', async () => {
  refused(await cli(['domain', 'add', 'new.example', '--customer', 'nobody']), /no customer named nobody/, 'domain for unknown customer');
});

test('a duplicate customer is refused', async () => {
  ok(await cli(['customer', 'add', 'acme']), 'customer add');
  refused(await cli(['customer', 'add', 'acme']), /customer acme already exists/, 'duplicate customer');
});

test('an invalid domain is refused', async () => {
  refused(await cli(['domain', 'add', 'bad_domain.example', '--customer', 'acme']), /not a valid domain name/, 'invalid domain');
  refused(await cli(['domain', 'add', 'localhost', '--customer', 'acme']), /not a valid domain name/, 'single-label domain');
});

test('a mailbox at a domain that is not hosted is refused', async () => {
  refused(
    await cli(['mailbox', 'add', 'x@not-hosted.example', '--password-stdin'], 'long-enough-pw\n'),
    /not-hosted\.example is not hosted here/,
    'mailbox for a non-hosted domain',
  );
});

test('a short password is refused; nothing was added by any refused command', async () => {
  ok(await cli(['domain', 'add', 'example.com', '--customer', 'acme']), 'domain add');
  refused(await cli(['mailbox', 'add', 'carol@example.com', '--password-stdin'], 'short\n'), /at least 8 characters/, 'short password');
  assert.deepEqual(parseJson(ok(await cli(['mailbox', 'list', '--json']), 'mailbox list')), []);
  const domains = parseJson<{ name: string }[]>(ok(await cli(['domain', 'list', '--json']), 'domain list'));
  assert.deepEqual(
    domains.map((d) => d.name),
    ['example.com'],
  );
});

test('config check: a good file exits 0', async () => {
  const r = ok(await cli(['config', 'check']), 'config check');
  assert.match(r.stdout, /postern\.yaml: ok \(2 listener\(s\): submission:10587, submissions:10465\)/);
});

test('config check: a file with several errors exits non-zero and names every key path', async () => {
  const bad = workspace(
    [
      'hostnme: typo.example',
      'dataDir: ./data',
      'listeners:',
      '  - role: submision',
      '    port: 587',
      '  - role: mx',
      '    port: 70000',
      'smtp:',
      '  maxRecipients: 0',
      '',
    ].join('\n'),
  );
  const r = await runCli(bad, ['config', 'check']);
  assert.notEqual(r.code, 0);
  assert.equal(r.stdout, '');
  for (const key of ['(top level)', 'listeners[0].role', 'listeners[1].port', 'smtp.maxRecipients']) {
    assert.ok(r.stderr.includes(`${key}: `), `stderr names ${key}:\n${r.stderr}`);
  }
  assert.match(r.stderr, /hostnme/);
  assert.ok(r.stderr.includes(bad.config), 'names the file');
  assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
});
