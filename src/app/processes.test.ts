import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PROCESSES, partsOf, workerKind } from './processes.ts';

const on = { delivery: { enabled: true } } as Parameters<typeof partsOf>[1];
const off = { delivery: { enabled: false } } as Parameters<typeof partsOf>[1];

test('one process runs everything; delivery only when enabled', () => {
  assert.deepEqual(partsOf('single', on), { prepare: true, listeners: true, delivery: true, local: true });
  assert.equal(partsOf('single', off).delivery, false);
});

test('with workers: listeners everywhere, delivery and the local channel in the first worker only, the supervisor prepares', () => {
  assert.equal(workerKind(0), 'first-worker');
  assert.equal(workerKind(3), 'other-worker');
  assert.deepEqual(partsOf('first-worker', on), { prepare: false, listeners: true, delivery: true, local: true });
  assert.deepEqual(partsOf('other-worker', on), { prepare: false, listeners: true, delivery: false, local: false });
  assert.deepEqual(partsOf('supervisor', on), { prepare: true, listeners: false, delivery: false, local: false });
});

test('the parts that run once per node run in exactly one worker', () => {
  for (const part of ['delivery', 'local'] as const) {
    const workers = (['first-worker', 'other-worker'] as const).filter((k) => PROCESSES[k][part]);
    assert.deepEqual(workers, ['first-worker'], part);
  }
});
