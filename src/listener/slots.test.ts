import test from 'node:test';
import assert from 'node:assert/strict';
import { admit, received, sweep, type SlotConnection, type SlotRules } from './slots.ts';

function conn(ip: string, user = false): SlotConnection & { sent: string[] } {
  const c: SlotConnection & { sent: string[] } = {
    remoteAddress: ip,
    session: { user: user ? { id: 1 } : undefined },
    _parser: { _dataMode: false },
    sent: [],
    send(code, data) {
      this.sent.push(`${code} ${data}`);
      if (code === 421) this._closing = true;
    },
  };
  return c;
}

const rules = (over: Partial<SlotRules> = {}): SlotRules => ({
  requireAuth: true,
  authTimeoutMs: 1000,
  maxUnauthenticated: 2,
  commandMs: 500,
  minDataRate: 100,
  dataGraceMs: 1000,
  isKnown: () => false,
  ...over,
});

test('beyond the unauthenticated share the oldest unauthenticated session is closed, from an unknown network first; authenticated ones never', () => {
  const r = rules({ isKnown: (ip) => ip === '192.0.2.1' });
  type C = ReturnType<typeof conn>;
  const all: SlotConnection[] = [];
  const add = (c: C, at: number): C => {
    all.push(c);
    admit(r, c, all, at);
    return c;
  };
  const known = add(conn('192.0.2.1'), 0);
  const authed = add(conn('198.51.100.1', true), 1);
  const unknown = add(conn('203.0.113.1'), 2);
  const fresh = add(conn('203.0.113.2'), 3);
  assert.deepEqual(
    [known, authed, unknown, fresh].map((c) => c.sent.length),
    [0, 0, 1, 0],
  );
  assert.match(unknown.sent[0]!, /^421 4\.7\.0 Too many connections waiting to authenticate/);
});

test('sweep: the auth deadline (submission only), a command line trickled past commandMs, DATA below minDataRate', () => {
  const r = rules();
  const late = conn('192.0.2.1');
  const authed = conn('192.0.2.2', true);
  const all = [late, authed];
  for (const c of all) admit(r, c, all, 0);
  sweep(r, all, 1001);
  assert.match(late.sent[0]!, /^421 4\.7\.0 Authenticate within 1 seconds/);
  assert.deepEqual(authed.sent, []);
  assert.deepEqual(
    (() => {
      const m = conn('192.0.2.9');
      admit(rules({ requireAuth: false }), m, [m], 0);
      sweep(rules({ requireAuth: false }), [m], 5000);
      return m.sent;
    })(),
    [],
    'mx: no auth deadline',
  );

  const slow = conn('192.0.2.3', true);
  admit(r, slow, [slow], 0);
  received(slow, Buffer.from('EH'), false, 100);
  received(slow, Buffer.from('L'), false, 400);
  sweep(r, [slow], 550);
  assert.deepEqual(slow.sent, [], 'within commandMs of the first byte');
  sweep(r, [slow], 601);
  assert.match(slow.sent[0]!, /^421 4\.4\.2 A command line must arrive within/);
  const whole = conn('192.0.2.4', true);
  admit(r, whole, [whole], 0);
  received(whole, Buffer.from('NOOP\r\n'), false, 100);
  sweep(r, [whole], 10_000);
  assert.deepEqual(whole.sent, [], 'complete lines start no clock');

  const data = conn('192.0.2.5', true);
  admit(r, data, [data], 0);
  (data._parser as { _dataMode: boolean })._dataMode = true;
  received(data, Buffer.alloc(150), true, 0);
  sweep(r, [data], 2000); // 1 s past the grace: 100 bytes needed, 150 arrived
  assert.deepEqual(data.sent, []);
  sweep(r, [data], 3000); // 2 s past the grace: 200 needed
  assert.match(data.sent[0]!, /^421 4\.4\.2 The message arrives too slowly/);
});
