/** `postern route add|list|remove`: per-domain next hops, validated, replaced, removed. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { makeWorkspace, runCli, serveYaml, ok, refused, parseJson, type Workspace } from '../helpers/cli.ts';

let ws: Workspace;
const cli = (args: string[]) => runCli(ws, args);
before(() => {
  ws = makeWorkspace(serveYaml([{ role: 'submission', port: 10587 }]));
});
after(() => fs.rmSync(ws.dir, { recursive: true, force: true }));

interface RouteRow {
  domain: string;
  host: string;
  port: number;
  tls: string;
}

test('routes are added, replaced, listed and removed', async () => {
  assert.match(
    ok(await cli(['route', 'add', 'Example.COM', 'relay.example.net:2525', '--tls', 'required']), 'route add').stdout,
    /example\.com -> relay\.example\.net:2525 \(tls required\)/,
  );
  ok(await cli(['route', 'add', 'v6.example', '[2001:db8::25]']), 'route add IPv6');
  ok(await cli(['route', 'add', 'example.com', '192.0.2.10']), 'route replace');
  const rows = parseJson<RouteRow[]>(ok(await cli(['route', 'list', '--json']), 'route list'));
  assert.deepEqual(
    rows.map(({ domain, host, port, tls }) => ({ domain, host, port, tls })),
    [
      { domain: 'example.com', host: '192.0.2.10', port: 25, tls: 'opportunistic' },
      { domain: 'v6.example', host: '2001:db8::25', port: 25, tls: 'opportunistic' },
    ],
  );
  ok(await cli(['route', 'remove', 'v6.example']), 'route remove');
  assert.deepEqual(
    parseJson<RouteRow[]>(ok(await cli(['route', 'list', '--json']), 'route list')).map((r) => r.domain),
    ['example.com'],
  );
});

test('bad routes are refused with one clear line and change nothing', async () => {
  const before = ok(await cli(['route', 'list', '--json']), 'route list').stdout;
  refused(await cli(['route', 'add', 'example.com', 'relay.test:0']), /port must be 1 to 65535/, 'port 0');
  refused(await cli(['route', 'add', 'example.com', 'relay.test:70000']), /port must be 1 to 65535/, 'port too big');
  refused(
    await cli(['route', 'add', 'example.com', 'relay.test', '--tls', 'sometimes']),
    /--tls must be one of none, opportunistic, required/,
    'tls mode',
  );
  refused(await cli(['route', 'add', 'not_a_domain', 'relay.test']), /not a valid domain name/, 'domain');
  refused(await cli(['route', 'add', 'example.com', 'bad host']), /not a valid host name/, 'host');
  refused(await cli(['route', 'add', 'example.com', '[not-an-ip]:25']), /not an IP address in brackets/, 'bracketed non-IP');
  refused(await cli(['route', 'remove', 'nothing.example']), /no route for nothing\.example/, 'remove unknown');
  assert.equal(ok(await cli(['route', 'list', '--json']), 'route list').stdout, before);
});

test('route add --auth: the password comes from stdin, is stored sealed (never in clear), and the key file is 0600', async () => {
  const secret = 'Relay-Pass-42-xyz';
  assert.match(
    ok(
      await runCli(
        ws,
        ['route', 'add', 'relayed.example', 'smarthost.example.net:587', '--tls', 'required', '--auth', 'outbound@provider.example'],
        { input: `${secret}\n` },
      ),
      'route add --auth',
    ).stdout,
    /relayed\.example -> smarthost\.example\.net:587 \(tls required, login outbound@provider\.example\)/,
  );
  const rows = parseJson<(RouteRow & { login: string })[]>(ok(await cli(['route', 'list', '--json']), 'route list'));
  assert.equal(rows.find((r) => r.domain === 'relayed.example')?.login, 'outbound@provider.example');
  const db = fs.readFileSync(`${ws.dataDir}/postern.db`);
  const wal = fs.existsSync(`${ws.dataDir}/postern.db-wal`) ? fs.readFileSync(`${ws.dataDir}/postern.db-wal`) : Buffer.alloc(0);
  assert.ok(!db.includes(secret) && !wal.includes(secret), 'the password is not in the database in clear');
  assert.equal(fs.statSync(`${ws.dataDir}/secrets.key`).mode & 0o777, 0o600);
  refused(
    await runCli(ws, ['route', 'add', 'relayed.example', 'smarthost.example.net', '--tls', 'none', '--auth', 'u'], { input: 'pw\n' }),
    /--auth needs TLS/,
    'auth without TLS',
  );
});
