import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { createBounceSuppressor, hardBounced } from './bounce.ts';
import type { Store } from '../store/index.ts';
import type { DeliveryJob, RecipientUpdate, Suppression } from '../core/index.ts';
import { deliveryJob } from '../../test/helpers/delivery-job.ts';

const job = (over: Partial<DeliveryJob['message']> = {}): DeliveryJob =>
  deliveryJob({
    message: { customerId: 7, sender: 'alice@example.com', listener: 'submission:587', ...over },
    domain: 'remote.test',
    to: ['gone@remote.test', 'full@remote.test', 'spam@remote.test', 'late@remote.test', 'ok@remote.test', 'local@remote.test'],
    lease: { owner: 'n', until: 1 },
  });

const u = (idx: number, state: RecipientUpdate['state'], reply: string, over: Partial<RecipientUpdate> = {}): RecipientUpdate => ({
  messageId: 'Q1',
  idx,
  state,
  nextAttemptAt: 0,
  at: 0,
  reply,
  category: state,
  remoteHost: 'mx.remote.test',
  attempted: true,
  ...over,
});

const updates = [
  u(0, 'failed', '550 5.1.1 <gone@remote.test>: user unknown'),
  u(1, 'failed', '552 5.2.2 mailbox full'),
  u(2, 'failed', '550 5.7.1 rejected as spam'),
  u(3, 'failed', '4.4.7 gave up after 5 days in the queue; last reply: 550 5.1.1 user unknown', { category: 'expired' }),
  u(4, 'delivered', '250 2.0.0 ok'),
  u(5, 'failed', '550 5.1.1 no such user (made up locally)', { remoteHost: null }),
];

test('hardBounced: only remote permanent "no such mailbox" failures of a customer\'s message', () => {
  assert.deepEqual(hardBounced(job(), updates), [{ address: 'gone@remote.test', reply: '550 5.1.1 <gone@remote.test>: user unknown' }]);
  assert.deepEqual(hardBounced(job({ customerId: null }), updates), [], 'no customer: nobody to suppress it for');
  assert.deepEqual(hardBounced(job({ cancelled: true }), updates), [], 'cancelled by the postmaster');
  assert.deepEqual(hardBounced(job(), [u(0, 'deferred', '450 4.1.1 try later')]), []);
  assert.deepEqual(hardBounced(job(), [u(0, 'failed', '550 5.1.1 user unknown', { attempted: false })]), []);
});

test("createBounceSuppressor: suppresses for the message's customer for `days`; 0 turns it off; a store failure is logged, not thrown", async () => {
  const added: Parameters<Store['suppressions']['add']>[0][] = [];
  let fail = false;
  const store = {
    suppressions: {
      async add(e: (typeof added)[number]) {
        if (fail) throw new Error('db down');
        added.push(e);
        return e as unknown as Suppression;
      },
    },
  } as unknown as Store;
  const clock = { now: () => 1_000 };
  const logger = pino({ level: 'silent' });
  await createBounceSuppressor({ store, clock, logger, days: 30 })(job(), updates);
  assert.deepEqual(added, [
    {
      customerId: 7,
      address: 'gone@remote.test',
      reason: '550 5.1.1 <gone@remote.test>: user unknown',
      source: 'bounce',
      now: 1_000,
      until: 1_000 + 30 * 86_400_000,
    },
  ]);
  await createBounceSuppressor({ store, clock, logger, days: 0 })(job(), updates);
  assert.equal(added.length, 1, 'days 0: nothing suppressed');
  fail = true;
  await createBounceSuppressor({ store, clock, logger, days: 30 })(job(), updates);
});
