/** Every administrative change leaves an audit record: who, what, target, before, after; no secrets. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import { makeWorkspace, runCli, serveYaml, ok, refused, parseJson } from '../helpers/cli.ts';

const ws = makeWorkspace(serveYaml([{ role: 'submission', port: 10587 }]));
after(() => fs.rmSync(ws.dir, { recursive: true, force: true }));
const cli = (args: string[], input?: string) => runCli(ws, args, input === undefined ? {} : { input });

interface Rec {
  actor: string;
  action: string;
  target: string;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
}

test('changes are audited with actor, target, before and after; reads and refusals are not; secrets never', async () => {
  ok(await cli(['customer', 'add', 'acme']), 'customer');
  ok(await cli(['domain', 'add', 'example.com', '--customer', 'acme']), 'domain');
  ok(await cli(['mailbox', 'add', 'alice@example.com', '--password-stdin'], 'Alice-Secret-pw-1\n'), 'mailbox');
  ok(await cli(['mailbox', 'suspend', 'alice@example.com']), 'suspend');
  ok(
    await cli(['route', 'add', 'relay.example', 'smarthost.example.net:587', '--tls', 'required', '--auth', 'u'], 'Route-Secret-pw-2\n'),
    'route',
  );
  ok(await cli(['mailbox', 'list']), 'a read');
  refused(await cli(['mailbox', 'suspend', 'nobody@example.com']), /no mailbox/, 'a refusal');
  const rows = parseJson<Rec[]>(ok(await cli(['audit', '--json']), 'audit'));
  assert.deepEqual(
    rows.map((r) => `${r.action} ${r.target}`),
    [
      'setRoute relay.example',
      'suspend alice@example.com',
      'addMailbox alice@example.com',
      'addDomain domain:example.com',
      'addCustomer customer:acme',
    ],
  );
  const suspend = rows.find((r) => r.action === 'suspend')!;
  assert.equal(suspend.actor, `cli:${os.userInfo().username}`);
  assert.equal(suspend.before?.status, 'active');
  assert.equal(suspend.after?.status, 'suspended');
  assert.equal(rows.find((r) => r.action === 'addMailbox')!.before, null);
  const raw = ok(await cli(['audit', '--json', '--limit', '100']), 'audit').stdout;
  assert.doesNotMatch(raw, /Secret-pw|argon2|passwordHash|authSecret|v1:/, 'no passwords, hashes or sealed secrets');
  assert.deepEqual(
    parseJson<Rec[]>(ok(await cli(['audit', '--target', 'alice@example.com', '--json']), 'by target')).map((r) => r.action),
    ['suspend', 'addMailbox'],
  );
  assert.match(ok(await cli(['audit']), 'table').stdout, /suspend\s+alice@example\.com\s+.*"status":"active".*"status":"suspended"/);
});
