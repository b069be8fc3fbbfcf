import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AdminError, type AdminService } from '../../service.ts';
import { liveCheck } from './domains.ts';

const svcWith = (checkDomain: () => Promise<unknown>) => ({ checkDomain }) as unknown as AdminService;

test('liveCheck: the report when DNS answers; "late" at the deadline when it does not; a refusal as its message', async () => {
  const report = { domain: 'shop.example', ok: true, items: [] };
  assert.deepEqual(
    await liveCheck(
      svcWith(async () => report),
      'shop.example',
      undefined,
      1000,
    ),
    { report },
  );

  const started = Date.now();
  assert.deepEqual(
    await liveCheck(
      svcWith(() => new Promise(() => {})),
      'shop.example',
      undefined,
      50,
    ),
    { late: true },
  );
  assert.ok(Date.now() - started < 1000, 'does not wait for a lookup that never ends');

  assert.deepEqual(
    await liveCheck(
      svcWith(async () => {
        throw new AdminError('DKIM is not available here (no configuration)');
      }),
      'x.example',
      undefined,
      1000,
    ),
    { error: 'DKIM is not available here (no configuration)' },
  );
  assert.deepEqual(
    await liveCheck(
      svcWith(async () => {
        throw new Error('socket closed');
      }),
      'x.example',
      undefined,
      1000,
    ),
    { error: 'the check failed: socket closed' },
  );
});

test("liveCheck passes the scope on (the service answers another customer's domain as missing)", async () => {
  let seen: unknown = null;
  const svc = {
    checkDomain: async (_n: string, scope: unknown) => {
      seen = scope;
      throw new AdminError('no hosted domain x.example', 'not-found');
    },
  } as unknown as AdminService;
  assert.deepEqual(await liveCheck(svc, 'x.example', { customerId: 7, customerName: 'acme' }, 1000), {
    error: 'no hosted domain x.example',
  });
  assert.deepEqual(seen, { customerId: 7, customerName: 'acme' });
});
