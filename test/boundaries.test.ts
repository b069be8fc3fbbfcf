/**
 * The folder rules of src/ on the real tree (the checker and what each rule means:
 * test/helpers/boundaries.ts). Each folder's index.ts says in its top comment what the folder
 * may import, on one line: ` * Imports: core, store.` (or ` * Imports: nothing.`); this test
 * reads every import of every source file and fails on an arrow that line does not allow, on a
 * reach past another folder's index.ts, on a cycle between folders, and on a file outside every
 * folder. A new arrow that points down is allowed by adding it to the folder's Imports line; one
 * that points up is a design change, not a line to add.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { checkBoundaries, readSources } from './helpers/boundaries.ts';

/**
 * Exceptions kept on purpose, each with its reason (issue 18 removed all the others). The test
 * fails on an entry that no longer happens, so this list cannot outlive its reasons.
 */
const KNOWN: Record<string, string> = {
  'door admin':
    "kept: admin/ is three rooms (cli/, api/, ui/, each with its index.ts and Imports line) over the admin service they share; others open a room; the service's Imports line is ADMIN_SERVICE below",
  'reach src/admin/cli/index.ts -> src/inject/sendmail.ts':
    'kept: `postern sendmail` loads only node built-ins (inject/index.ts would load the injector)',
  'reach src/admin/cli/sites.ts -> src/inject/sendmail.ts': 'kept: as above (the token file text)',
  'reach src/admin/cli/store.ts -> src/store/postgres/from-sqlite.ts':
    'kept: the one-off copy of `store migrate --from-sqlite`, loaded only by that command',
};

/** The Imports line of admin/'s own files (the service), which has no index.ts to hold it. */
const ADMIN_SERVICE = 'core, config, credentials, limits, store, dkim, clientsetup, webhooks';

/** Tests and the store's conformance suite (test code beside the store it checks) assemble real parts on purpose. */
const isTestCode = (file: string) => file.endsWith('.test.ts') || file.startsWith('src/store/conformance/');

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

test('src/ keeps its folder rules: no upward arrow, no reach past an index.ts, no cycle (known exceptions aside)', () => {
  const found = checkBoundaries(readSources(root), { isTestCode, declared: { admin: ADMIN_SERVICE } });
  const broken = found.filter((v) => !(v.key in KNOWN)).map((v) => `${v.message}\n    [${v.key}]`);
  const seen = new Set(found.map((v) => v.key));
  const gone = Object.keys(KNOWN)
    .filter((k) => !seen.has(k))
    .map((k) => `a known exception no longer happens; delete it from KNOWN: '${k}'`);
  const problems = [...broken, ...gone];
  assert.equal(problems.length, 0, `\n${problems.join('\n')}`);
});
