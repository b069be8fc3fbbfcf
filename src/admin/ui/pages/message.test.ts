/** The message page's words say only what is true: who got a notice, whether a bounce was sent, where the message came in. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TrackEvent } from '../../../core/index.ts';
import { eventWord, viaWords } from './message.ts';

const ev = (o: Partial<TrackEvent>): TrackEvent => ({
  at: 0,
  type: 'accepted',
  recipient: null,
  remoteHost: null,
  reply: null,
  category: null,
  ref: null,
  ...o,
});

test('a bounce of an ordinary message went to the sender; of a null-sender message to the postmaster', () => {
  const bounced = ev({ type: 'bounced', recipient: 'bob@remote.test', category: 'failure', ref: 'Q2' });
  assert.equal(eventWord(bounced, false, new Set(['bob@remote.test'])), 'bounce sent to the sender');
  assert.match(eventWord(bounced, true, new Set(['bob@remote.test'])), /^failure reported to the postmaster/);
  assert.doesNotMatch(eventWord(bounced, true, new Set()), /sent to the sender/);
});

test('the failure of a bounce says that no bounce was sent (it was dropped: no loops)', () => {
  const failed = ev({ type: 'failed', recipient: 'Old@remote.test', reply: '550 5.1.1 no such user', category: 'mailbox-unknown' });
  assert.match(eventWord(failed, true, new Set()), /^failed; no bounce sent: this message is itself a bounce/);
  assert.equal(eventWord(failed, true, new Set(['old@remote.test'])), 'failed', 'reported to the postmaster: the bounced event says so');
  assert.equal(eventWord(failed, false, new Set()), 'failed');
});

test('"accepted" names where the message came in, in words (never "submission:587" as a category)', () => {
  assert.equal(eventWord(ev({ category: 'submission:587' }), false, new Set()), 'accepted over SMTP on port 587 (submission)');
  assert.equal(viaWords('submissions:465'), 'over SMTP on port 465 (submissions)');
  assert.equal(viaWords('api'), 'from the HTTP send API');
  assert.equal(viaWords('bounce'), 'from Postern itself (a bounce)');
  assert.equal(eventWord(ev({ type: 'held', category: 'limit-hold' }), false, new Set()), 'held for a check (limit hold)');
});
