import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { createMetrics } from '../observability/index.ts';
import { createHousekeeping } from './housekeeping.ts';

const logger = pino({ level: 'silent' });
const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

test('a job runs once at start and then every interval, counted with its duration', async () => {
  const metrics = createMetrics();
  const h = createHousekeeping({ logger, metrics });
  let runs = 0;
  h.every('count', 20, async () => void runs++);
  h.start();
  await tick(70);
  await h.stop();
  assert.ok(runs >= 3, `ran ${runs} times`);
  const text = await metrics.registry.metrics();
  assert.match(text, new RegExp(`postern_housekeeping_runs_total\\{job="count",result="ok"\\} ${runs}`));
  assert.match(text, new RegExp(`postern_housekeeping_duration_seconds_count\\{job="count"\\} ${runs}`));
});

test('a slow run is not started twice: the overlapping run is skipped and counted', async () => {
  const metrics = createMetrics();
  const h = createHousekeeping({ logger, metrics });
  const gate = deferred();
  let started = 0;
  h.every('slow', 60_000, async () => {
    started++;
    await gate.promise;
  });
  h.start();
  await h.run('slow');
  await h.run('slow');
  assert.equal(started, 1);
  assert.match(await metrics.registry.metrics(), /postern_housekeeping_runs_total\{job="slow",result="skipped"\} 2/);
  gate.resolve();
  await h.stop();
});

test('stop waits for the run in flight, and no run starts after it', async () => {
  const h = createHousekeeping({ logger });
  const gate = deferred();
  let finished = false;
  let runs = 0;
  h.every('long', 60_000, async () => {
    runs++;
    await gate.promise;
    finished = true;
  });
  h.start();
  const stopped = h.stop().then(() => finished);
  await tick(5);
  gate.resolve();
  assert.equal(await stopped, true, 'stop resolved after the run finished');
  await h.run('long');
  assert.equal(runs, 1);
});

test('a job that throws is counted as failed and keeps its timer', async () => {
  const metrics = createMetrics();
  const h = createHousekeeping({ logger, metrics });
  let runs = 0;
  h.every('broken', 15, async () => {
    runs++;
    throw new Error('store down');
  });
  h.start();
  await tick(50);
  await h.stop();
  assert.ok(runs >= 2);
  assert.match(await metrics.registry.metrics(), new RegExp(`postern_housekeeping_runs_total\\{job="broken",result="failed"\\} ${runs}`));
});
