import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createSqliteStore } from '../store/sqlite/index.ts';
import { createAdminService, adminOperations } from './service.ts';

/** The actions the audit trail has always written: the console's audit page, the API and the tests read them. */
const AUDITED_ACTIONS = [
  'addCustomer',
  'setContact',
  'addDomain',
  'suspendCustomer',
  'resumeCustomer',
  'removeCustomer',
  'renameCustomer',
  'removeDomain',
  'moveDomain',
  'addMailbox',
  'setPassword',
  'suspend',
  'resume',
  'removeMailbox',
  'grant',
  'revoke',
  'unlock',
  'setRoute',
  'removeRoute',
  'assignPool',
  'unassignPool',
  'setLimit',
  'clearLimit',
  'rotateDkim',
  'activateDkim',
  'addSuppression',
  'removeSuppression',
  'addSite',
  'removeSite',
  'rotateSiteToken',
  'grantSite',
  'revokeSite',
  'addWebhook',
  'removeWebhook',
  'rotateWebhookSecret',
  'setWebhookEnabled',
  'testWebhook',
  'removeBan',
  'releaseHold',
  'purgeHold',
  'addToken',
  'revokeToken',
  'importMailboxes',
  'importGrants',
  'addAppPassword',
  'revokeAppPassword',
  'setAppPasswordsOnly',
  'holdMessage',
  'releaseMessage',
  'deleteMessage',
  'retryQueue',
].sort();

/** A name that says it changes something: declaring such an operation a read is almost surely a mistake. */
const CHANGE_VERB =
  /^(add|set|remove|revoke|rotate|grant|suspend|resume|unlock|assign|unassign|activate|release|purge|hold|delete|retry|import|rename|move|clear|create|test)([A-Z]|$)/;

async function withService(
  fn: (svc: ReturnType<typeof createAdminService>, store: ReturnType<typeof createSqliteStore>) => Promise<void>,
  actor?: string,
) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'postern-operations-'));
  const store = createSqliteStore({ path: path.join(dir, 'p.db') });
  try {
    await fn(createAdminService(store, { actor }), store);
  } finally {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const declarations = adminOperations as Record<string, { read?: true; audit?: { action: string }; unaudited?: string }>;

test('every operation of the admin service declares what the audit trail does with it', async () => {
  await withService(async (svc) => {
    const operations = Object.entries(svc)
      .filter(([, v]) => typeof v === 'function')
      .map(([k]) => k);
    assert.ok(operations.length > 80, `the admin service has its operations (${operations.length})`);
    const undeclared = operations.filter((name) => !declarations[name]);
    assert.deepEqual(
      undeclared,
      [],
      `operations with no audit declaration (give each audit(ACTION, VIEW), read, or unaudited(WHY)): ${undeclared.join(', ')}`,
    );
    const stale = Object.keys(declarations).filter((name) => !operations.includes(name));
    assert.deepEqual(stale, [], `declarations of operations the service does not have: ${stale.join(', ')}`);
  });
});

test('an operation named like a change is audited, or says why not', () => {
  const readChanges = Object.entries(declarations)
    .filter(([name, d]) => d.read && CHANGE_VERB.test(name))
    .map(([name]) => name);
  assert.deepEqual(
    readChanges,
    [],
    `operations that look like changes but are declared read (audit them, or unaudited(WHY)): ${readChanges.join(', ')}`,
  );
  for (const [name, d] of Object.entries(declarations)) {
    if ('unaudited' in d) assert.ok(d.unaudited && d.unaudited.length > 10, `${name} says why it is not audited`);
  }
});

test('the audited actions are the ones the trail has always written', () => {
  const actions = Object.values(declarations)
    .flatMap((d) => (d.audit ? [d.audit.action] : []))
    .sort();
  assert.deepEqual(actions, AUDITED_ACTIONS);
});

test('with an actor, a change writes its row and a read or an unaudited login writes none', async () => {
  await withService(async (svc, store) => {
    await svc.addCustomer('acme', 'ops@acme.test');
    await svc.listCustomers();
    await svc.getCustomer('acme');
    await svc.authenticateToken('not-a-token');
    const rows = await store.audit.list({});
    assert.equal(rows.length, 1);
    assert.equal(rows[0].action, 'addCustomer');
    assert.equal(rows[0].target, 'customer:acme');
    assert.equal(rows[0].actor, 'tester');
    assert.equal(rows[0].before, null);
    assert.equal((rows[0].after as { name: string }).name, 'acme');
  }, 'tester');
});
