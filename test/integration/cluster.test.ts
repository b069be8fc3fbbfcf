/**
 * Two Postern nodes (real `postern serve` processes) on one PostgreSQL store: the limits, the
 * lockout and a password change hold whichever node a client reaches.
 */
import { test, after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import { runCli, ok } from '../helpers/cli.ts';
import { makeSchema, type TestSchema } from '../helpers/pg.ts';
import { cleanups, cluster, provision, serve, send, login, PASSWORD, type Node } from '../helpers/cluster.ts';

after(async () => {
  for (const c of cleanups.reverse()) await c();
});

describe('two nodes, one PostgreSQL: limits, lockouts and passwords hold on every node', () => {
  let db: TestSchema;
  let nodes: Node[];
  before(async () => {
    db = await makeSchema('cluster');
    cleanups.push(() => db.drop());
    const c = await cluster(db);
    await provision(c.a);
    nodes = [];
    for (const [ws, port] of [
      [c.a, c.ports[0]],
      [c.b, c.ports[1]],
    ] as const)
      nodes.push({ ws, port, proc: await serve(ws) });
  });

  test('a burst split across both nodes cannot pass a limit', async () => {
    ok(
      await runCli(nodes[0].ws, ['limits', 'set', 'customer', 'acme', '--window', 'hour', '--messages', '10', '--action', 'defer']),
      'limits set',
    );
    // a few through each node one by one, then the rest at once, split across both
    const codes: number[] = [];
    for (let i = 0; i < 6; i++) codes.push(await send(nodes[i % 2].port, i));
    codes.push(...(await Promise.all(Array.from({ length: 24 }, (_, i) => send(nodes[i % 2].port, 6 + i)))));
    assert.equal(codes.filter((c) => c === 250).length, 10, `exactly 10 accepted: ${codes.join(' ')}`);
    assert.equal(codes.filter((c) => c === 451).length, 20, `the rest deferred with 451: ${codes.join(' ')}`);
    const queued = (n: Node) => n.proc.logs.filter((l) => l.evt === 'queued').length;
    assert.ok(queued(nodes[0]) > 0 && queued(nodes[1]) > 0, `both nodes accepted part of it (${queued(nodes[0])} + ${queued(nodes[1])})`);
    assert.equal(queued(nodes[0]) + queued(nodes[1]), 10);
    ok(await runCli(nodes[1].ws, ['limits', 'clear', 'customer', 'acme']), 'limits clear');
  });

  test('a lockout caused through node A holds on node B', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await login(nodes[0].port, `wrong-${i}`)).ok, false);
    const onB = await login(nodes[1].port, PASSWORD);
    assert.equal(onB.ok, false, 'the right password is refused on node B while the mailbox is locked');
    assert.match(onB.reply, /^535 5\.7\.8/);
    ok(await runCli(nodes[1].ws, ['mailbox', 'unlock', 'alice@example.com']), 'unlock');
    assert.equal((await login(nodes[0].port, PASSWORD)).ok, true, 'unlocked on node A by a command run against node B');
  });

  test('a password changed through node A is refused on node B within a second', async () => {
    assert.equal((await login(nodes[1].port, PASSWORD)).ok, true, 'node B knows (and caches) the old password');
    const next = 'alice-Next-pw-8';
    ok(await runCli(nodes[0].ws, ['mailbox', 'passwd', 'alice@example.com', '--password-stdin'], { input: `${next}\n` }), 'passwd');
    const changed = Date.now();
    const old = await login(nodes[1].port, PASSWORD);
    assert.equal(old.ok, false, 'the old password is refused on node B');
    assert.ok(Date.now() - changed < 1000, 'within a second');
    assert.equal((await login(nodes[1].port, next)).ok, true, 'the new one works on node B');
  });
});
