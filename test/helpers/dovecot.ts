/**
 * A real Dovecot (Debian's dovecot-core) for tests: its own config, base_dir, log and
 * passwd-file in a temp folder, the auth service only (no mail protocols), its auth-client
 * socket there and a TCP auth listener on 127.0.0.1. Users are hashed by `doveadm pw` with the
 * scheme given. Stopped (and restartable) by the test.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface DovecotUser {
  user: string;
  password: string;
  scheme: 'SHA512-CRYPT' | 'BLF-CRYPT' | 'SHA256-CRYPT' | 'MD5-CRYPT' | 'SSHA512';
}

export interface TestDovecot {
  /** The auth-client unix socket. */
  socket: string;
  /** HOST:PORT of the auth service's inet listener. */
  inet: string;
  usersFile: string;
  /** The passwd-file line of a user (as Dovecot hashed it). */
  lineOf(user: string): string;
  /** Adds or replaces users; resolves once Dovecot can see the change (it re-reads the file at most once a second). */
  setUsers(users: DovecotUser[]): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Stops it and removes its folder. */
  close(): Promise<void>;
}

export function hasDovecot(): boolean {
  try {
    execFileSync('dovecot', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

export async function startDovecot(users: DovecotUser[]): Promise<TestDovecot> {
  // dovecot's auth worker runs as the "dovecot" user: the folder must be readable by it
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-'));
  fs.chmodSync(dir, 0o755);
  for (const d of ['run', 'state']) fs.mkdirSync(path.join(dir, d));
  const usersFile = path.join(dir, 'users');
  const port = await freePort();
  const lines = new Map<string, string>();
  const conf = path.join(dir, 'dovecot.conf');
  fs.writeFileSync(
    conf,
    [
      `base_dir = ${dir}/run`,
      `state_dir = ${dir}/state`,
      `log_path = ${dir}/dovecot.log`,
      'protocols =',
      'listen = 127.0.0.1',
      'ssl = no',
      'disable_plaintext_auth = no',
      'auth_mechanisms = plain login',
      // Postern tarpits failures itself; Dovecot's own delay would only slow the tests
      'auth_failure_delay = 0',
      'auth_cache_size = 0',
      'passdb {',
      '  driver = passwd-file',
      `  args = ${usersFile}`,
      '}',
      'userdb {',
      '  driver = static',
      '  args = uid=65534 gid=65534 home=/nonexistent',
      '}',
      'service auth {',
      '  unix_listener auth-client {',
      '    mode = 0666',
      '  }',
      '  inet_listener auth-inet {',
      '    address = 127.0.0.1',
      `    port = ${port}`,
      '  }',
      '}',
      '',
    ].join('\n'),
  );
  let child: ChildProcess | null = null;
  const socket = path.join(dir, 'run', 'auth-client');
  const d: TestDovecot = {
    socket,
    inet: `127.0.0.1:${port}`,
    usersFile,
    lineOf: (user) => lines.get(user)!,
    async setUsers(list) {
      for (const u of list) {
        const hash = execFileSync('doveadm', ['pw', '-s', u.scheme, '-p', u.password], { encoding: 'utf8' }).trim();
        lines.set(u.user, `${u.user}:${hash}::::::`);
      }
      fs.writeFileSync(usersFile, [...lines.values()].join('\n') + '\n', { mode: 0o644 });
      if (child) await new Promise((r) => setTimeout(r, 1100));
    },
    async start() {
      if (fs.existsSync(socket)) fs.rmSync(socket);
      // its own process group: stopping it ends the auth processes with the master at once
      child = spawn('dovecot', ['-F', '-c', conf], { stdio: 'ignore', detached: true });
      const deadline = Date.now() + 10_000;
      for (;;) {
        if (fs.existsSync(socket) && (await canConnect(socket))) return;
        if (Date.now() > deadline || child.exitCode !== null) {
          throw new Error(
            `dovecot did not start: ${fs.existsSync(path.join(dir, 'dovecot.log')) ? fs.readFileSync(path.join(dir, 'dovecot.log'), 'utf8') : 'no log'}`,
          );
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop() {
      const c = child;
      child = null;
      if (!c || c.exitCode !== null) return;
      const exited = new Promise((r) => c.once('exit', r));
      process.kill(-c.pid!, 'SIGTERM');
      await exited;
      // the auth processes go with their group; wait until none answers any more
      const deadline = Date.now() + 5000;
      while (Date.now() < deadline && (await groupAlive(c.pid!))) await new Promise((r) => setTimeout(r, 20));
    },
    async close() {
      await d.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  await d.setUsers(users);
  await d.start();
  return d;
}

function canConnect(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(socketPath);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function groupAlive(pgid: number): Promise<boolean> {
  try {
    process.kill(-pgid, 0);
    return Promise.resolve(true);
  } catch {
    return Promise.resolve(false);
  }
}
