/**
 * A real clamd (Debian's clamav-daemon) for the antivirus path of the scanning tests. Virus
 * signatures cannot be downloaded here (freshclam needs the Internet), so it runs with a
 * one-line signature database of our own that detects the EICAR test string: the same engine,
 * socket protocol and rspamd module as in production, only the database is ours. Foreground,
 * its own temp dir and socket; stop() ends it.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const CLAMD_BIN = '/usr/sbin/clamd';
export const EICAR = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*';

export interface Clamd {
  socket: string;
  stop(): Promise<void>;
}

export const clamdAvailable = () => fs.existsSync(CLAMD_BIN);

export async function startClamd(timeoutMs = 30_000): Promise<Clamd> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'postern-clamd-'));
  fs.mkdirSync(path.join(dir, 'db'));
  fs.writeFileSync(path.join(dir, 'db', 'postern.ndb'), `Postern.Test.EICAR:0:*:${Buffer.from(EICAR).toString('hex')}\n`);
  const socket = path.join(dir, 'clamd.sock');
  fs.writeFileSync(
    path.join(dir, 'clamd.conf'),
    [
      'Foreground yes',
      `DatabaseDirectory ${dir}/db`,
      `LocalSocket ${socket}`,
      `LogFile ${dir}/clamd.log`,
      `PidFile ${dir}/clamd.pid`,
      'User root',
      'SelfCheck 0',
      '',
    ].join('\n'),
  );
  const child = spawn(CLAMD_BIN, ['-c', path.join(dir, 'clamd.conf')], { stdio: 'ignore' });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const until = Date.now() + timeoutMs;
  const ping = () =>
    new Promise<boolean>((resolve) => {
      const s = net.connect(socket, () => s.write('zPING\0'));
      let got = '';
      s.on('data', (d) => {
        got += d.toString();
      });
      s.on('close', () => resolve(got.startsWith('PONG')));
      s.on('error', () => resolve(false));
    });
  while (!(await ping())) {
    if (child.exitCode !== null || Date.now() > until) {
      child.kill('SIGKILL');
      const log = fs.existsSync(path.join(dir, 'clamd.log')) ? fs.readFileSync(path.join(dir, 'clamd.log'), 'utf8').slice(-1500) : '';
      fs.rmSync(dir, { recursive: true, force: true });
      throw new Error(`clamd did not start: ${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    socket,
    async stop() {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
