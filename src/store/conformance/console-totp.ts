/** Conformance cases: the console's second factor (begin and restart, confirm with recovery hashes, each time step once, each recovery code once, remove). */
import assert from 'node:assert/strict';
import type { Case } from './harness.ts';

export const consoleTotpCases: Case[] = [
  {
    name: 'console TOTP: an enrolment is pending until confirmed; a confirmed one cannot be restarted; each step and each recovery code is accepted once',
    async run({ store }) {
      const t = store.consoleTotp;
      assert.equal(await t.get('token', 'panel'), null);
      assert.equal(await t.useStep('token', 'panel', 5), false, 'nothing enrolled: no step accepted');
      assert.equal(await t.begin('token', 'panel', 'sealed-1', 1000), true);
      assert.equal(await t.begin('token', 'panel', 'sealed-2', 2000), true, 'a pending enrolment restarts with a new secret');
      assert.deepEqual(await t.get('token', 'panel'), {
        via: 'token',
        subject: 'panel',
        secret: 'sealed-2',
        confirmedAt: null,
        lastStep: 0,
        recoveryHashes: [],
        createdAt: 2000,
      });
      assert.equal(await t.useStep('token', 'panel', 5), false, 'a pending enrolment signs nobody in');
      assert.equal(await t.confirm('token', 'panel', ['h-b', 'h-a'], 100, 3000), true);
      assert.equal(await t.confirm('token', 'panel', ['h-x'], 101, 3001), false, 'confirmed once');
      assert.deepEqual(await t.get('token', 'panel'), {
        via: 'token',
        subject: 'panel',
        secret: 'sealed-2',
        confirmedAt: 3000,
        lastStep: 100,
        recoveryHashes: ['h-a', 'h-b'],
        createdAt: 2000,
      });
      assert.equal(await t.begin('token', 'panel', 'sealed-3', 4000), false, 'a confirmed second factor is not replaced');
      assert.equal((await t.get('token', 'panel'))!.secret, 'sealed-2');
      assert.equal(await t.useStep('token', 'panel', 100), false, 'the step that confirmed it');
      assert.equal(await t.useStep('token', 'panel', 99), false, 'an older step');
      assert.equal(await t.useStep('token', 'panel', 101), true);
      assert.equal(await t.useStep('token', 'panel', 101), false, 'the same code twice');
      assert.deepEqual(
        await Promise.all([t.useStep('token', 'panel', 102), t.useStep('token', 'panel', 102)]).then((r) => r.filter(Boolean).length),
        1,
        'at once: one wins',
      );
      assert.equal(await t.useRecovery('token', 'panel', 'h-a'), true);
      assert.equal(await t.useRecovery('token', 'panel', 'h-a'), false, 'a recovery code is used once');
      assert.equal(await t.useRecovery('token', 'panel', 'h-zzz'), false);
      assert.deepEqual((await t.get('token', 'panel'))!.recoveryHashes, ['h-b']);
      assert.equal(await t.get('mailbox', 'panel'), null, 'via is part of the key');
      assert.equal(await t.remove('token', 'panel'), true);
      assert.equal(await t.remove('token', 'panel'), false);
      assert.equal(await t.get('token', 'panel'), null);
      assert.equal(await t.begin('token', 'panel', 'sealed-4', 5000), true, 'after removal, enrolment starts again');
      assert.deepEqual((await t.get('token', 'panel'))!.recoveryHashes, [], 'the old recovery codes went with it');
    },
  },
];
