/**
 * `postern serve` with several worker processes (node:cluster): the per-IP connection limit
 * holds across workers, a worker that dies is replaced and its connection slots are given
 * back, and SIGTERM stops everything.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import { makeWorkspace, freePorts, startServe, type Workspace, type ServeProcess } from '../helpers/cli.ts';

const workspaces: Workspace[] = [];
const servers: ServeProcess[] = [];
after(async () => {
  for (const s of servers) await s.stop();
  for (const w of workspaces) fs.rmSync(w.dir, { recursive: true, force: true });
});

/** Opens a connection and resolves with it and its first reply line. */
function connect(port: number): Promise<{ sock: net.Socket; greeting: string }> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    sock.once('data', (d) => resolve({ sock, greeting: d.toString() }));
    sock.once('error', reject);
  });
}

test('two workers share one per-IP limit; a dead worker is replaced and its slots come back', async () => {
  const [port] = await freePorts(1);
  const ws = makeWorkspace(
    [
      'hostname: mx.postern.test',
      'dataDir: ./data',
      'workers: 2',
      'listeners:',
      `  - { role: submission, port: ${port}, host: 127.0.0.1, maxConnectionsPerIp: 3 }`,
      'web: { port: 0, host: 127.0.0.1 }',
      'log: { level: info }',
      '',
    ].join('\n'),
  );
  workspaces.push(ws);
  const server = await startServe(ws, 2);
  servers.push(server);
  const workerPids = server.logs.filter((l) => l.evt === 'worker' && l.state === 'ready').map((l) => l.pid as number);
  assert.equal(workerPids.length, 2);

  // Six connections: whichever worker takes each, only three get a greeting.
  const conns = [];
  for (let i = 0; i < 6; i++) conns.push(await connect(port));
  const greeted = conns.filter((c) => c.greeting.startsWith('220 '));
  const refused = conns.filter((c) => c.greeting.startsWith('421 4.7.0 '));
  assert.equal(greeted.length, 3, conns.map((c) => c.greeting).join(''));
  assert.equal(refused.length, 3);
  for (const c of conns) c.sock.destroy();

  // Kill one worker hard: the supervisor starts another, and the slots of the dead one return.
  process.kill(workerPids[0], 'SIGKILL');
  const deadline = Date.now() + 30_000;
  while (server.logs.filter((l) => l.evt === 'worker' && l.state === 'ready').length < 3 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(server.logs.some((l) => l.evt === 'worker' && l.msg === 'worker died; starting another'));
  assert.equal(server.logs.filter((l) => l.evt === 'worker' && l.state === 'ready').length, 3, 'a replacement worker is ready');
  const again = [];
  for (let i = 0; i < 3; i++) again.push(await connect(port));
  assert.deepEqual(
    again.map((c) => c.greeting.slice(0, 4)),
    ['220 ', '220 ', '220 '],
    'every slot is free again',
  );
  for (const c of again) c.sock.destroy();

  const r = await server.stop();
  assert.equal(r.code, 0, server.stderr());
  for (const pid of workerPids.slice(1)) assert.throws(() => process.kill(pid, 0), 'workers stopped with the supervisor');
});
