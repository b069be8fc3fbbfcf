/** `postern mailbox grant|revoke|grants`: the CLI side of the send-as rules. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { makeWorkspace, runCli, serveYaml, ok, refused, parseJson } from '../helpers/cli.ts';

const ws = makeWorkspace(serveYaml([{ role: 'submission', port: 10587 }]));
after(() => fs.rmSync(ws.dir, { recursive: true, force: true }));
const cli = (args: string[], input?: string) => runCli(ws, args, input === undefined ? {} : { input });

test("grant, list and revoke send-as rights; another customer's domain is refused", async () => {
  ok(await cli(['customer', 'add', 'acme']), 'customer');
  ok(await cli(['customer', 'add', 'other']), 'customer 2');
  ok(await cli(['domain', 'add', 'example.com', '--customer', 'acme']), 'domain');
  ok(await cli(['domain', 'add', 'shop.example', '--customer', 'acme']), 'domain 2');
  ok(await cli(['domain', 'add', 'other.example', '--customer', 'other']), 'domain 3');
  ok(await cli(['mailbox', 'add', 'alice@example.com', '--password-stdin'], 'alice-secret-1\n'), 'mailbox');
  assert.match(
    ok(await cli(['mailbox', 'grant', 'alice@example.com', '--send-as', 'Orders@shop.example']), 'grant').stdout,
    /alice@example\.com may send as orders@shop\.example/,
  );
  assert.match(
    ok(await cli(['mailbox', 'grant', 'alice@example.com', '--domain', 'shop.example']), 'grant domain').stdout,
    /may send as any address @shop\.example/,
  );
  assert.match(ok(await cli(['mailbox', 'grant', 'alice@example.com', '--domain', 'shop.example']), 'again').stdout, /already granted/);
  const rows = parseJson<{ kind: string; value: string }[]>(ok(await cli(['mailbox', 'grants', 'alice@example.com', '--json']), 'grants'));
  assert.deepEqual(
    rows.map((r) => `${r.kind}:${r.value}`),
    ['own:alice@example.com', 'address:orders@shop.example', 'domain:shop.example'],
  );
  refused(
    await cli(['mailbox', 'grant', 'alice@example.com', '--domain', 'other.example']),
    /other\.example is not a domain of customer acme/,
    'cross-customer',
  );
  refused(await cli(['mailbox', 'grant', 'alice@example.com']), /either --send-as ADDRESS or --domain DOMAIN/, 'no option');
  ok(await cli(['mailbox', 'revoke', 'alice@example.com', '--send-as', 'orders@shop.example']), 'revoke');
  refused(await cli(['mailbox', 'revoke', 'alice@example.com', '--send-as', 'orders@shop.example']), /has no grant/, 'revoke twice');
  const after = parseJson<{ kind: string }[]>(ok(await cli(['mailbox', 'grants', 'alice@example.com', '--json']), 'grants'));
  assert.deepEqual(
    after.map((r) => r.kind),
    ['own', 'domain'],
  );
});

test('customer contact: set at add or later, validated, listed', async () => {
  assert.match(
    ok(await cli(['customer', 'add', 'shop', '--contact', 'Owner@Shop-Home.test']), 'add').stdout,
    /customer shop added \(contact owner@shop-home\.test\)/,
  );
  refused(await cli(['customer', 'contact', 'shop', 'not an address']), /not a valid contact address/, 'bad contact');
  ok(await cli(['customer', 'contact', 'shop', 'billing@shop-home.test']), 'set');
  const rows = parseJson<{ name: string; contact: string }[]>(ok(await cli(['customer', 'list', '--json']), 'list'));
  assert.equal(rows.find((r) => r.name === 'shop')?.contact, 'billing@shop-home.test');
});
