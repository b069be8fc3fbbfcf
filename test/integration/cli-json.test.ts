/**
 * One API: every `postern ... --json` follows the admin API's JSON conventions: times are ISO
 * 8601 strings (never epoch milliseconds), an absent value is null (never ""), and the shapes
 * of what both show (customers, DKIM keys) match the API's.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { makeWorkspace, runCli, serveYaml, ok, parseJson } from '../helpers/cli.ts';

const ws = makeWorkspace(
  serveYaml([{ role: 'submission', port: 10591 }], ['delivery:', '  enabled: false', '  publicAddresses: ["192.0.2.10"]'].join('\n')),
);
after(() => fs.rmSync(ws.dir, { recursive: true, force: true }));
const cli = (args: string[], input?: string) => runCli(ws, args, input === undefined ? {} : { input });

const TIME_KEY = /(At|Until|Since)$|^(at|since|until|oldest|windowStart|created)$/;
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z$/;

/** Every place in value that breaks the conventions, as "path: why". */
function faults(value: unknown, path = '$', key = ''): string[] {
  if (value === '') return [`${path}: "" (an absent value is null)`];
  if (TIME_KEY.test(key) && value !== null && !(typeof value === 'string' && ISO.test(value)))
    return [`${path}: ${JSON.stringify(value)} is not an ISO 8601 time`];
  if (Array.isArray(value)) return value.flatMap((v, i) => faults(v, `${path}[${i}]`));
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => faults(v, `${path}.${k}`, k));
  return [];
}

test('the checker names epoch milliseconds and empty strings (so the test below can fail)', () => {
  assert.deepEqual(faults([{ createdAt: 1765096200000, contact: '', at: '2026-12-07T08:30:00.000Z', activatedAt: null }]), [
    '$[0].createdAt: 1765096200000 is not an ISO 8601 time',
    '$[0].contact: "" (an absent value is null)',
  ]);
});

test('every --json listing: ISO 8601 times and null for absent values, as the API', async () => {
  ok(await cli(['customer', 'add', 'acme']), 'customer without a contact');
  ok(await cli(['domain', 'add', 'shop.example', '--customer', 'acme']), 'domain (a pending DKIM key)');
  ok(await cli(['mailbox', 'add', 'alice@shop.example', '--password-stdin'], 'alice-secret-1\n'), 'mailbox');
  ok(await cli(['mailbox', 'grant', 'alice@shop.example', '--domain', 'shop.example']), 'grant');
  ok(await cli(['route', 'add', 'relay.example', 'smarthost.example.net']), 'route without a login');
  ok(await cli(['site', 'add', 'shop', '--customer', 'acme', '--send-as', 'orders@shop.example']), 'site without a unix user');
  ok(await cli(['token', 'add', 'panel', '--operator']), 'token never used');
  ok(await cli(['limits', 'set', 'customer', 'acme', '--window', 'hour', '--messages', '100']), 'limit');
  const commands = [
    ['customer', 'list'],
    ['domain', 'list'],
    ['mailbox', 'list'],
    ['mailbox', 'grants', 'alice@shop.example'],
    ['ban', 'list'],
    ['route', 'list'],
    ['audit'],
    ['dkim', 'show', 'shop.example'],
    ['domain', 'dns', 'shop.example'],
    ['limits', 'show'],
    ['queue', 'list'],
    ['hold', 'list'],
    ['site', 'list'],
    ['suppression', 'list'],
    ['token', 'list'],
    ['track', 'search'],
    ['track', 'stats'],
    ['webhook', 'list'],
    ['webhook', 'log'],
  ];
  for (const args of commands) {
    const out = parseJson(ok(await cli([...args, '--json']), args.join(' ')));
    assert.deepEqual(faults(out), [], `postern ${args.join(' ')} --json`);
  }
  const [customer] = parseJson<Record<string, unknown>[]>(ok(await cli(['customer', 'list', '--json']), 'customers'));
  assert.deepEqual(Object.keys(customer!).sort(), ['contact', 'createdAt', 'name', 'status', 'suspendedAt'], "the API's customer");
  assert.equal(customer!.suspendedAt, null);
  assert.equal(customer!.contact, null);
  const [key] = parseJson<Record<string, unknown>[]>(ok(await cli(['dkim', 'show', 'shop.example', '--json']), 'dkim'));
  assert.match(String(key!.createdAt), ISO);
  assert.equal(key!.activatedAt, null, 'a pending key was never active: null, as the API says');
  assert.deepEqual(
    Object.keys(key!)
      .filter((k) => k.endsWith('At'))
      .sort(),
    ['activatedAt', 'createdAt', 'retiringAt'],
  );
  const audit = parseJson<{ before: unknown; after: unknown }[]>(ok(await cli(['audit', '--json']), 'audit'));
  assert.ok(audit.length >= 8, 'every change above is audited');
});
