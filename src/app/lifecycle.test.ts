import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { createLifecycle, type Part } from './lifecycle.ts';

const logger = pino({ level: 'silent' });

function parts(names: string[], seen: string[], failAt?: string): Part[] {
  return names.map((name) => ({
    name,
    async start() {
      seen.push(`start ${name}`);
      if (name === failAt) throw new Error(`${name} cannot start`);
    },
    async stop() {
      seen.push(`stop ${name}`);
    },
  }));
}

test('parts start in order and stop in reverse', async () => {
  const seen: string[] = [];
  const life = createLifecycle(parts(['store', 'listeners', 'web'], seen), logger);
  await life.start();
  await life.stop();
  assert.deepEqual(seen, ['start store', 'start listeners', 'start web', 'stop web', 'stop listeners', 'stop store']);
});

test('a failed start stops what was started (and the failed part) in reverse, and throws', async () => {
  const seen: string[] = [];
  const life = createLifecycle(parts(['store', 'listeners', 'web', 'housekeeping'], seen, 'web'), logger);
  await assert.rejects(life.start(), /web cannot start/);
  assert.deepEqual(seen, ['start store', 'start listeners', 'start web', 'stop web', 'stop listeners', 'stop store']);
  await life.stop();
  assert.equal(seen.length, 6, 'stopped once');
});

test('a stop that fails does not keep the others from stopping; stop twice stops once', async () => {
  const seen: string[] = [];
  const life = createLifecycle(
    [
      { name: 'a', stop: () => void seen.push('stop a') },
      {
        name: 'b',
        stop: () => {
          throw new Error('b is stuck');
        },
      },
      { name: 'c' },
    ],
    logger,
  );
  await life.start();
  await Promise.all([life.stop(), life.stop()]);
  assert.deepEqual(seen, ['stop a']);
});
