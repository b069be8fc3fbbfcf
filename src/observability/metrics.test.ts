import { test } from 'node:test';
import assert from 'node:assert/strict';
import { because, smtpError } from '../core/index.ts';
import { channelOf, checkReadiness, createMetrics, refusalOf, SOURCE_TIMEOUT_MS, type ActivityCounts } from './index.ts';

test('the queue gauges ask the store once per scrape, never reuse an old answer, and leave a failed answer out', async () => {
  let calls = 0;
  let answer: () => Promise<{ messages: number; byState?: { messages?: Record<string, number> } }> = async () => ({
    messages: 7,
    byState: { messages: { queued: 5, held: 2 } },
  });
  const m = createMetrics({
    queueDepth: () => {
      calls++;
      return answer();
    },
  });
  let text = await m.registry.metrics();
  assert.equal(calls, 1);
  assert.match(text, /^postern_queue_length 7$/m);
  assert.match(text, /^postern_queue_messages\{state="held"\} 2$/m);
  answer = async () => ({ messages: 3 });
  text = await m.registry.metrics();
  assert.equal(calls, 2);
  assert.match(text, /^postern_queue_length 3$/m);
  assert.doesNotMatch(text, /^postern_queue_messages\{/m, 'no per-state counts: none shown (not the old ones)');
  answer = () => Promise.reject(new Error('store down'));
  text = await m.registry.metrics();
  assert.match(text, /^postern_queue_length nan$/im, 'unknown, not an empty queue');
  assert.match(text, /^# TYPE postern_smtp_connections_open gauge$/m, 'the rest of the scrape is there');
});

test('a store that does not answer costs a scrape at most SOURCE_TIMEOUT_MS', { timeout: SOURCE_TIMEOUT_MS + 3000 }, async () => {
  const m = createMetrics({ queueDepth: () => new Promise(() => undefined) });
  const t = Date.now();
  const text = await m.registry.metrics();
  assert.ok(Date.now() - t < SOURCE_TIMEOUT_MS + 500);
  assert.match(text, /^postern_queue_length nan$/im);
});

test('without a queue source (a worker that does not serve /metrics) there are no queue gauges to add up', async () => {
  const text = await createMetrics().registry.metrics();
  assert.doesNotMatch(text, /postern_queue_/);
  assert.match(text, /^# TYPE postern_delivery_recipients_claimed gauge$/m);
});

test("the dashboard gauges: holds, bans, top senders and the last hour's events, read once per scrape; unknown when the store fails", async () => {
  let calls = 0;
  let answer: () => Promise<ActivityCounts> = async () => ({
    heldMailboxes: 2,
    heldSites: 1,
    bansActive: 3,
    lastHour: {
      events: { delivered: 40, bounced: 2, refused: 1 },
      topSenders: [
        { sender: 'alice@example.com', messages: 30 },
        { sender: 'site:shop', messages: 5 },
      ],
    },
  });
  const m = createMetrics({
    activity: () => {
      calls++;
      return answer();
    },
  });
  let text = await m.registry.metrics();
  assert.equal(calls, 1, 'one store read for all five gauges');
  assert.match(text, /^# TYPE postern_held_mailboxes gauge$/m);
  assert.match(text, /^postern_held_mailboxes 2$/m);
  assert.match(text, /^postern_held_sites 1$/m);
  assert.match(text, /^postern_bans_active 3$/m);
  assert.match(text, /^postern_top_sender_messages\{sender="alice@example\.com"\} 30$/m);
  assert.match(text, /^postern_top_sender_messages\{sender="site:shop"\} 5$/m);
  assert.match(text, /^postern_tracked_events_last_hour\{type="delivered"\} 40$/m);
  assert.match(text, /^postern_tracked_events_last_hour\{type="bounced"\} 2$/m);
  assert.match(text, /^postern_tracked_events_last_hour\{type="refused"\} 1$/m);
  assert.match(text, /^postern_tracked_events_last_hour\{type="attempt-deferred"\} 0$/m, "the dashboard's types are there at 0");
  answer = async () => ({
    heldMailboxes: 0,
    heldSites: 0,
    bansActive: 0,
    lastHour: { events: {}, topSenders: [{ sender: 'bob@example.org', messages: 1 }] },
  });
  text = await m.registry.metrics();
  assert.doesNotMatch(text, /alice@example\.com/, 'a sender no longer on top is gone (not kept from the old scrape)');
  assert.match(text, /^postern_top_sender_messages\{sender="bob@example\.org"\} 1$/m);
  assert.match(text, /^postern_held_mailboxes 0$/m);
  answer = () => Promise.reject(new Error('store down'));
  text = await m.registry.metrics();
  assert.match(text, /^postern_held_mailboxes nan$/im);
  assert.match(text, /^postern_bans_active nan$/im);
  assert.doesNotMatch(text, /^postern_top_sender_messages\{/m);
  assert.doesNotMatch(text, /^postern_tracked_events_last_hour\{/m);
  assert.doesNotMatch(
    await createMetrics().registry.metrics(),
    /postern_held_|postern_bans_active|postern_top_sender/,
    'only where the source is',
  );
});

test('channels and refusal reasons have bounded values', () => {
  assert.equal(channelOf('submission:587'), 'smtp');
  assert.equal(channelOf('mx:25'), 'smtp');
  assert.equal(channelOf('postmaster'), 'dsn');
  assert.equal(channelOf('bounce'), 'dsn');
  assert.equal(channelOf('notice'), 'notice');
  assert.equal(channelOf('maildrop'), 'maildrop');
  assert.equal(refusalOf(because(smtpError(553, '5.7.1', 'x'), 'send-as')), 'sender');
  assert.equal(refusalOf(because(smtpError(451, '4.7.1', 'x'), 'limit')), 'limit');
  assert.equal(refusalOf(smtpError(550, '5.5.2', 'bare LF')), 'data');
  assert.equal(refusalOf(smtpError(451, '4.3.0', 'ours')), 'error');
  assert.equal(refusalOf(new Error('bug')), 'error');
});

test('readiness: every check answered in time, or what is not', async () => {
  assert.deepEqual(await checkReadiness({ a: async () => null }), { ready: true, checks: { a: 'ok' } });
  const r = await checkReadiness(
    {
      a: async () => null,
      b: async () => 'not listening: mx:25',
      c: () => Promise.reject(new Error('x')),
      d: () => new Promise(() => undefined),
    },
    50,
  );
  assert.deepEqual(r, { ready: false, checks: { a: 'ok', b: 'not listening: mx:25', c: 'error', d: 'timeout' } });
});
