import test from 'node:test';
import assert from 'node:assert/strict';
import { checkSourceRoute, hasSourceRoute } from './source-route.ts';

test('source routing in the local part is recognised in every spelling', () => {
  for (const routed of [
    'someone%elsewhere.example@hosted.example',
    'elsewhere.example!someone@hosted.example',
    '"@relay.example:someone@elsewhere.example"@hosted.example',
    '"someone@elsewhere.example"@hosted.example',
    '"someone\\@elsewhere.example"@hosted.example',
    '"a%b"@hosted.example',
  ])
    assert.equal(hasSourceRoute(routed), true, routed);
  for (const plain of ['someone@hosted.example', 'some.one+tag@hosted.example', '"john doe"@hosted.example', "o'brien=x@hosted.example"]) {
    assert.equal(hasSourceRoute(plain), false, plain);
  }
});

test('a routed recipient is refused with 550 5.1.3, others continue', () => {
  const v = checkSourceRoute('someone%elsewhere.example@hosted.example');
  assert.equal(v.kind, 'reject');
  if (v.kind === 'reject') {
    assert.equal(v.reply.code, 550);
    assert.equal(v.reply.enhanced, '5.1.3');
  }
  assert.deepEqual(checkSourceRoute('someone@hosted.example'), { kind: 'continue' });
});
