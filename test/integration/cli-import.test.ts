/**
 * `postern mailbox import` (dovecot-passwd, shadow, csv), `postern grant import` (Postfix
 * smtpd_sender_login_maps) and `postern mailbox app-password ...` through the real CLI: counts,
 * refused lines with their numbers and exit code 1, re-runs that change nothing, the audit trail.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { makeWorkspace, runCli, serveYaml, ok, refused, parseJson } from '../helpers/cli.ts';

const ws = makeWorkspace(serveYaml([{ role: 'submission', port: 10587 }]));
after(() => fs.rmSync(ws.dir, { recursive: true, force: true }));
const cli = (args: string[], input?: string) => runCli(ws, args, input === undefined ? {} : { input });
const file = (name: string, text: string) => {
  const p = path.join(ws.dir, name);
  fs.writeFileSync(p, text);
  return p;
};

// published vectors (Drepper's SHA-crypt, Openwall's bcrypt), see src/credentials/schemes.test.ts
const SHA512 = '$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1';
const SHA256 = '$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5';
const BCRYPT = '$2y$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW';

test('mailbox import: a Dovecot passwd-file with counts and refused lines; a re-run changes nothing; a changed hash is updated', async () => {
  ok(await cli(['customer', 'add', 'acme']), 'customer');
  ok(await cli(['customer', 'add', 'other']), 'customer 2');
  ok(await cli(['domain', 'add', 'example.com', '--customer', 'acme']), 'domain');
  ok(await cli(['domain', 'add', 'shop.example', '--customer', 'acme']), 'domain 2');
  ok(await cli(['domain', 'add', 'other.example', '--customer', 'other']), 'domain 3');
  const passwd = [
    '# exported from the old host',
    `ann@example.com:{SHA512-CRYPT}${SHA512}:5000:5000::/var/mail/ann::`,
    `bob@example.com:{BLF-CRYPT}${BCRYPT}:5000:5000::/var/mail/bob::`,
    'cat@example.com:{PLAIN}hunter2:5000:5000::/var/mail/cat::',
    'dan@example.com:{MD5}Xr4ilOzQ4PCOq3aQ0qbuaQ==::',
    `eve@nothosted.example:{SHA512-CRYPT}${SHA512}::`,
    '',
    `sue@other.example:{SHA256-CRYPT}${SHA256}::`,
    `ANN@example.com:{SHA256-CRYPT}${SHA256}::`,
    'no colon here',
  ].join('\n');
  const p = file('users', passwd);
  const r = await cli(['mailbox', 'import', p, '--format', 'dovecot-passwd']);
  assert.equal(r.code, 1, 'refused lines: exit 1 (the rest applied)');
  assert.equal(r.stderr, '');
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines[0], 'added 3, updated 0, unchanged 0, refused 5');
  assert.match(lines[1]!, /^line 4: cat@example\.com: plain-text password \(\{PLAIN\}\) refused/);
  assert.match(lines[2]!, /^line 5: dan@example\.com: unknown password scheme \{MD5\}/);
  assert.match(lines[3]!, /^line 6: eve@nothosted\.example: the domain nothosted\.example is not hosted here/);
  assert.match(lines[4]!, /^line 9: ann@example\.com appears again \(first on line 2\)/);
  assert.match(lines[5]!, /^line 10: expected USER:\{SCHEME\}HASH/);
  const listed = parseJson<{ address: string; customer: string; source: string }[]>(ok(await cli(['mailbox', 'list', '--json']), 'list'));
  assert.deepEqual(
    listed.map((m) => `${m.address}:${m.customer}:${m.source}`),
    ['ann@example.com:acme:import', 'bob@example.com:acme:import', 'sue@other.example:other:import'],
  );

  const again = await cli(['mailbox', 'import', p, '--format', 'dovecot-passwd', '--json']);
  const report = JSON.parse(again.stdout) as { added: number; updated: number; unchanged: number; refused: unknown[] };
  assert.deepEqual([report.added, report.updated, report.unchanged, report.refused.length], [0, 0, 3, 5]);

  ok(
    await cli(['mailbox', 'import', file('users2', `bob@example.com:{SHA256-CRYPT}${SHA256}::\n`), '--format', 'dovecot-passwd']),
    'changed hash',
  );
  const audit = parseJson<{ action: string; target: string }[]>(
    ok(await cli(['audit', '--json', '--target', 'import:mailboxes']), 'audit'),
  );
  assert.equal(audit.length, 3);
  assert.equal(audit[0]!.action, 'importMailboxes');
});

test('mailbox import: a shadow file of one domain (--domain), and CSV with a header', async () => {
  const shadow = `ivy:${SHA512}:19000:0:99999:7:::\njoe:!:19000:0:99999:7:::\n`;
  refused(
    await cli(['mailbox', 'import', file('shadow-x', shadow), '--format', 'shadowy']),
    /--format must be one of dovecot-passwd, shadow, csv/,
    'bad format',
  );
  const noDomain = await cli(['mailbox', 'import', file('shadow', shadow), '--format', 'shadow']);
  assert.equal(noDomain.code, 1);
  assert.match(noDomain.stdout, /line 1: ivy is not an address: give --domain for bare user names/);
  const r = await cli(['mailbox', 'import', file('shadow', shadow), '--format', 'shadow', '--domain', 'shop.example']);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /^added 1, updated 0, unchanged 0, refused 1\nline 2: joe@shop\.example: the account has no usable password/);
  const csv = `address,password_hash\n"kim@shop.example","{SSHA512}NyMqtQyq9KfFIPrBFFN1dGBiqvhy2Dc3LzEnYZzXu9EsrQvBCzDvP49iKHYXcYLmKsRey3pidi+CGhgqmdIoZz+59Pw="\nlea@shop.example,${BCRYPT}\n`;
  assert.match(
    ok(await cli(['mailbox', 'import', '-', '--format', 'csv'], csv), 'csv from stdin').stdout,
    /^added 2, updated 0, unchanged 0, refused 0\n$/,
  );
  refused(
    await cli(['mailbox', 'import', path.join(ws.dir, 'missing'), '--format', 'csv']),
    /cannot read .*missing: ENOENT/,
    'missing file',
  );
});

test('grant import: Postfix sender login maps into grants, cross-customer lines refused, re-run unchanged', async () => {
  const maps = [
    '# smtpd_sender_login_maps',
    'orders@shop.example    ann@example.com, bob@example.com',
    '@shop.example          ann@example.com',
    'ann@example.com        ann@example.com',
    'boss@other.example     ann@example.com',
    'sales@shop.example     sue@other.example',
    'info@shop.example      nobody@example.com',
    'lonely',
  ].join('\n');
  const p = file('sender_login_maps', maps);
  const r = await cli(['grant', 'import', p]);
  assert.equal(r.code, 1);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines[0], 'added 3, updated 0, unchanged 1, refused 4');
  assert.match(lines[1]!, /^line 5: ann@example\.com \(customer acme\) may not send as boss@other\.example \(customer other\)/);
  assert.match(lines[2]!, /^line 6: sue@other\.example \(customer other\) may not send as sales@shop\.example \(customer acme\)/);
  assert.match(lines[3]!, /^line 7: no mailbox nobody@example\.com/);
  assert.match(lines[4]!, /^line 8: expected ADDRESS  LOGIN/);
  const grants = parseJson<{ kind: string; value: string }[]>(ok(await cli(['mailbox', 'grants', 'ann@example.com', '--json']), 'grants'));
  assert.deepEqual(grants.map((g) => `${g.kind}:${g.value}`).sort(), [
    'address:orders@shop.example',
    'domain:shop.example',
    'own:ann@example.com',
  ]);
  const again = await cli(['grant', 'import', p]);
  assert.match(again.stdout, /^added 0, updated 0, unchanged 4, refused 4/);
});

test('app passwords through the CLI: add shows it once, list shows no secret, revoke, app-passwords-only', async () => {
  const added = ok(await cli(['mailbox', 'app-password', 'add', 'ann@example.com', 'Phone']), 'add').stdout;
  const pw = /password: (\S+)/.exec(added)![1]!;
  assert.match(pw, /^[A-Za-z0-9]{24}$/);
  refused(
    await cli(['mailbox', 'app-password', 'add', 'ann@example.com', 'Phone']),
    /already has an app password named Phone/,
    'same name',
  );
  refused(await cli(['mailbox', 'app-password', 'add', 'ann@example.com', 'bad/name']), /invalid app password name/, 'bad name');
  const list = ok(await cli(['mailbox', 'app-password', 'list', 'ann@example.com']), 'list').stdout;
  assert.match(list, /its own password and app passwords/);
  assert.match(list, /Phone/);
  assert.ok(!list.includes(pw), 'the password is never shown again');
  assert.match(ok(await cli(['mailbox', 'app-passwords-only', 'ann@example.com', 'on']), 'on').stdout, /only app passwords log in/);
  refused(await cli(['mailbox', 'app-passwords-only', 'ann@example.com', 'maybe']), /expected on or off/, 'bad mode');
  const json = parseJson<{ appPasswordsOnly: boolean; appPasswords: { name: string }[] }>(
    ok(await cli(['mailbox', 'app-password', 'list', 'ann@example.com', '--json']), 'json'),
  );
  assert.equal(json.appPasswordsOnly, true);
  ok(await cli(['mailbox', 'app-password', 'revoke', 'ann@example.com', 'Phone']), 'revoke');
  refused(await cli(['mailbox', 'app-password', 'revoke', 'ann@example.com', 'Phone']), /has no app password named Phone/, 'twice');
  const audit = parseJson<{ action: string }[]>(ok(await cli(['audit', '--json', '--target', 'ann@example.com']), 'audit'));
  assert.deepEqual(
    audit.slice(0, 3).map((a) => a.action),
    ['revokeAppPassword', 'setAppPasswordsOnly', 'addAppPassword'],
  );
  assert.ok(!JSON.stringify(audit).includes(pw));
});
