import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeImport, logicalLines, parseMailboxFile } from './import.ts';

test('passwd-file and shadow lines: the first two fields; comments and blank lines skipped; a line without a colon refused with its number', () => {
  const r = parseMailboxFile(
    '# users\n\nann@example.com:{SHA512-CRYPT}$6$x$y:5000:5000::/home/ann::userdb_quota_rule=*:storage=1G\nbob:$1$ab$cd:19000:0:99999:7:::\nbroken\n',
    'dovecot-passwd',
  );
  assert.deepEqual(r.entries, [
    { line: 3, login: 'ann@example.com', secret: '{SHA512-CRYPT}$6$x$y' },
    { line: 4, login: 'bob', secret: '$1$ab$cd' },
  ]);
  assert.deepEqual(r.refused, [{ line: 5, error: 'expected USER:{SCHEME}HASH:...' }]);
  assert.deepEqual(
    parseMailboxFile('ann@example.com:$6$x$y', 'shadow').entries,
    [{ line: 1, login: 'ann@example.com', secret: '$6$x$y' }],
    'no trailing fields',
  );
});

test('CSV: a header is skipped, quotes and doubled quotes are read, a short line is refused', () => {
  const r = parseMailboxFile(
    'Email,Password\r\n"ann@example.com","{SSHA}a""b"\r\nbob@example.com , $2y$05$abc \r\nonly-one-field\r\n',
    'csv',
  );
  assert.deepEqual(r.entries, [
    { line: 2, login: 'ann@example.com', secret: '{SSHA}a"b' },
    { line: 3, login: 'bob@example.com', secret: '$2y$05$abc' },
  ]);
  assert.deepEqual(r.refused, [{ line: 4, error: 'expected ADDRESS,HASH' }]);
  assert.equal(parseMailboxFile('ann@example.com,h\n', 'csv').entries.length, 1, 'an address on line 1 is not a header');
});

test('Postfix table files: a line starting with whitespace continues the one before', () => {
  assert.deepEqual(logicalLines('# maps\nsales@a.example  ann@a.example,\n    bob@a.example\n\n@a.example ann@a.example\n'), [
    { line: 2, text: 'sales@a.example  ann@a.example, bob@a.example' },
    { line: 5, text: '@a.example ann@a.example' },
  ]);
});

test('the report as the CLI prints it', () => {
  assert.equal(
    describeImport({ added: 2, updated: 1, unchanged: 3, refused: [{ line: 7, error: 'x: plain-text password' }] }),
    'added 2, updated 1, unchanged 3, refused 1\nline 7: x: plain-text password',
  );
});
