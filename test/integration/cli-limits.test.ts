/** `postern limits set|show|clear`: the CLI contract of the sending limits. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { makeWorkspace, runCli, serveYaml, ok, refused, parseJson } from '../helpers/cli.ts';

const ws = makeWorkspace(serveYaml([{ role: 'submission', port: 10587 }]));
after(() => fs.rmSync(ws.dir, { recursive: true, force: true }));
const cli = (args: string[], input?: string) => runCli(ws, args, input === undefined ? {} : { input });

test('limits set, show (with usage) and clear', async () => {
  ok(await cli(['customer', 'add', 'acme']), 'customer');
  ok(await cli(['domain', 'add', 'example.com', '--customer', 'acme']), 'domain');
  ok(await cli(['mailbox', 'add', 'alice@example.com', '--password-stdin'], 'alice-secret-1\n'), 'mailbox');
  assert.match(
    ok(
      await cli([
        'limits',
        'set',
        'mailbox',
        'alice@example.com',
        '--window',
        'hour',
        '--messages',
        '50',
        '--recipients',
        '200',
        '--action',
        'hold',
      ]),
      'set',
    ).stdout,
    /limit set: mailbox alice@example\.com: 50 messages per hour, then hold\nlimit set: mailbox alice@example\.com: 200 recipients per hour, then hold/,
  );
  ok(await cli(['limits', 'set', 'server', '--window', 'day', '--messages', '100000']), 'server');
  const rows = parseJson<{ level: string; target: string; metric: string; max: number; usage: number | null }[]>(
    ok(await cli(['limits', 'show', 'mailbox', 'alice@example.com', '--json']), 'show'),
  );
  assert.deepEqual(rows.map((r) => `${r.target}:${r.metric}:${r.max}:${r.usage}`).sort(), [
    '*:recipients:1000:0',
    '*:recipients:5000:0',
    'alice@example.com:messages:50:0',
    'alice@example.com:recipients:200:0',
  ]);
  assert.match(ok(await cli(['limits', 'show']), 'show all').stdout, /server\s+\*\s+day\s+messages\s+100000\s+0 /);
  refused(
    await cli(['limits', 'set', 'mailbox', 'alice@example.com', '--window', 'fortnight', '--messages', '1']),
    /window must be one of/,
    'bad window',
  );
  refused(
    await cli(['limits', 'set', 'domain', 'nowhere.test', '--window', 'hour', '--messages', '1']),
    /no hosted domain nowhere\.test/,
    'unknown domain',
  );
  assert.match(
    ok(await cli(['limits', 'clear', 'mailbox', 'alice@example.com', '--metric', 'messages']), 'clear').stdout,
    /^1 limit\(s\) removed/,
  );
  refused(await cli(['limits', 'clear', 'mailbox', 'alice@example.com', '--metric', 'messages']), /matches/, 'clear again');
});
