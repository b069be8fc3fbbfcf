import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMetrics } from '../../../observability/index.ts';
import { metricSum } from './dashboard.ts';

test('the dashboard reads counters from the registry: summed over labels, or those matching', async () => {
  const m = createMetrics();
  m.auth.inc({ channel: 'smtp', result: 'failure' }, 3);
  m.auth.inc({ channel: 'console', result: 'failure' });
  m.auth.inc({ channel: 'smtp', result: 'success' }, 7);
  m.limitHits.inc({ level: 'mailbox', action: 'hold' }, 2);
  assert.equal(await metricSum(m.registry, 'postern_auth_total', { result: 'failure' }), 4);
  assert.equal(await metricSum(m.registry, 'postern_auth_total'), 11);
  assert.equal(await metricSum(m.registry, 'postern_limit_hits_total'), 2);
  assert.equal(await metricSum(m.registry, 'postern_holds_total'), 0);
  assert.equal(await metricSum(m.registry, 'postern_no_such_metric'), null);
  assert.equal(await metricSum(undefined, 'postern_auth_total'), null);
});
