/**
 * `postern token add|list|revoke` with real processes: the token is printed once and works
 * against `postern serve`'s admin API with its scope; a revoked one stops at once; every
 * change is audited without the token.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { makeWorkspace, runCli, serveYaml, ok, refused, parseJson, startServe, freePort, type Workspace } from '../helpers/cli.ts';
import { httpsCall } from '../helpers/admin-api.ts';

const workspaces: Workspace[] = [];
after(() => {
  for (const w of workspaces) fs.rmSync(w.dir, { recursive: true, force: true });
});

test('token add (operator, customer), list, revoke; the API honours scope and revocation; audited without the secret', async () => {
  const ws = makeWorkspace(serveYaml([{ role: 'submission', port: await freePort() }]));
  workspaces.push(ws);
  const cli = (args: string[]) => runCli(ws, args);
  ok(await cli(['customer', 'add', 'acme']), 'customer');
  ok(await cli(['customer', 'add', 'other']), 'customer 2');
  const opOut = ok(await cli(['token', 'add', 'panel', '--operator']), 'operator token').stdout;
  assert.match(
    opOut,
    /^token panel added \(operator\)\ntoken: pat_[A-Za-z0-9_-]{43}\n\(shown once; send it as "Authorization: Bearer pat_\S+\.\.\."\)\n$/,
  );
  const op = /token: (pat_\S+)/.exec(opOut)![1]!;
  const acme = /token: (pat_\S+)/.exec(ok(await cli(['token', 'add', 'acme-panel', '--customer', 'acme']), 'customer token').stdout)![1]!;
  refused(await cli(['token', 'add', 'panel', '--operator']), /a token named panel already exists/, 'twice');
  refused(await cli(['token', 'add', 'x', '--customer', 'nobody']), /no customer named nobody/, 'no customer');
  refused(await cli(['token', 'add', 'x']), /give either --operator or --customer NAME/, 'no scope');
  refused(await cli(['token', 'add', 'x', '--operator', '--customer', 'acme']), /give either --operator or --customer NAME/, 'both');
  refused(await cli(['token', 'add', 'bad name', '--operator']), /invalid token name/, 'bad name');

  const server = await startServe(ws, 1);
  try {
    const port = Number((server.logs.find((l) => l.evt === 'listening' && l.listener === 'web') as { port: number }).port);
    const get = (token: string, path: string) => httpsCall(port, 'get', `/api/v1${path}`, { authorization: `Bearer ${token}` });
    const all = await get(op, '/customers');
    assert.equal(all.status, 200, all.text);
    assert.deepEqual(
      all.json.customers.map((c: { name: string }) => c.name),
      ['acme', 'other'],
    );
    const own = await get(acme, '/customers');
    assert.deepEqual(
      own.json.customers.map((c: { name: string }) => c.name),
      ['acme'],
    );
    assert.equal((await get(acme, '/customers/other')).status, 404);

    const rows = parseJson<{ name: string; scope: string; lastUsedAt: string | null; revokedAt: string | null }[]>(
      ok(await cli(['token', 'list', '--json']), 'list'),
    );
    assert.deepEqual(
      rows.map((r) => `${r.name} ${r.scope} ${r.revokedAt}`),
      ['acme-panel customer:acme null', 'panel operator null'],
    );
    assert.ok(
      rows.every((r) => r.lastUsedAt !== null),
      'both were used',
    );
    assert.match(
      ok(await cli(['token', 'list']), 'table').stdout,
      /^NAME\s+SCOPE\s+CREATEDAT\s+LASTUSEDAT\s+REVOKEDAT\nacme-panel\s+customer:acme/,
    );

    assert.equal(ok(await cli(['token', 'revoke', 'acme-panel']), 'revoke').stdout, 'token acme-panel revoked\n');
    refused(await cli(['token', 'revoke', 'acme-panel']), /already revoked/, 'revoke twice');
    refused(await cli(['token', 'revoke', 'nope']), /no token named nope/, 'no such token');
    const revoked = await get(acme, '/customers');
    assert.equal(revoked.status, 401, 'a revoked token stops at once (no cache)');
    assert.equal((await get(op, '/customers')).status, 200);
  } finally {
    await server.stop();
  }
  const audit = ok(await cli(['audit', '--json', '--limit', '100']), 'audit').stdout;
  const entries = JSON.parse(audit) as { action: string; target: string }[];
  assert.deepEqual(
    entries.filter((e) => e.target.startsWith('token:')).map((e) => `${e.action} ${e.target}`),
    ['revokeToken token:acme-panel', 'addToken token:acme-panel', 'addToken token:panel'],
  );
  assert.ok(!audit.includes(op) && !audit.includes(acme), 'never the token');
});
