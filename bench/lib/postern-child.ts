/**
 * A Postern of our own for the benchmark: a temp dataDir, a generated config (one submission
 * listener on a free 127.0.0.1 port unless the caller gives its own listeners, log level warn, delivery off or to the --e2e sink, SQLite
 * or a PostgreSQL schema with its nodeName and secrets key file), a customer/domain/mailbox
 * made with the CLI (not again for a second node of one schema), then `node bin/postern.js serve` as a child
 * process. Every step is bounded in time; stop() ends exactly this child (SIGTERM, then SIGKILL
 * after a grace period).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TlsMode } from './args.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = path.join(ROOT, 'bin', 'postern.js');
const RESERVED = new Set([10025, 10026, 10465, 10587]); // the Postfix peer lab's ports

export interface PosternChild {
  readonly pid: number;
  readonly port: number;
  readonly dir: string;
  readonly logFile: string;
  alive(): boolean;
  stop(): Promise<void>;
  /** Synchronous last resort (process 'exit'). */
  kill(): void;
}

export interface SpawnOptions {
  user: string;
  pass: string;
  tls: TlsMode;
  maxConns: number;
  tlsCert: string | null;
  tlsKey: string | null;
  cpuProf: string | null;
  workers: number | 'auto' | null;
  /** null: delivery off (submission cells measure only accepting); else deliver everything to this sink. */
  delivery: { smarthost: string; concurrency: number } | null;
  /** DKIM signing of the spawned Postern: off, RSA, or RSA + Ed25519 (keys activated at once). */
  dkim?: 'off' | 'rsa' | 'both';
  /** Content scanning with the rspamd at this URL (off without it). */
  scanUrl?: string | null;
  /** The store: SQLite in the temp dataDir (the default), or a PostgreSQL schema (`--store`). */
  store?: { kind: 'postgres'; url: string; schema: string; poolSize?: number } | null;
  /** `nodeName` (must differ between nodes sharing one PostgreSQL schema). */
  nodeName?: string;
  /** `secrets.keyFile` (the same file for every node of one PostgreSQL schema). */
  secretsKeyFile?: string;
  /**
   * Make the customer, domain and mailbox with the CLI and clear the sending limits (default
   * true). A second node on a PostgreSQL schema that the first one provisioned passes false.
   */
  provision?: boolean;
  /** Listeners instead of the one submission listener (`port` is then the first one's). */
  listeners?: ({ port: number } & Record<string, unknown>)[];
  /** Extra `auth` settings of the spawned Postern. */
  auth?: Record<string, unknown>;
  /** Check logins with this Dovecot (auth.dovecot): the mailbox is not added, it is made at its first login. */
  dovecot?: { socket: string; cacheSeconds: number } | null;
  log: (s: string) => void;
}

/**
 * The `delivery` section: off for submission-only cells (else it would look up remote.test's MX
 * through the system resolver and disturb the measurement), or everything to the smarthost.
 * All bench mail goes to one domain, so perDestinationConcurrency is the limit that counts.
 * allowLoopback: the smarthost is 127.0.0.1, and loopback next hops (smarthost and routes too,
 * not only MX hosts) are refused without it.
 */
export function deliveryConfig(d: SpawnOptions['delivery']): Record<string, unknown> {
  if (!d) return { enabled: false };
  return {
    smarthost: d.smarthost,
    smarthostTls: 'none',
    allowLoopback: true,
    concurrency: d.concurrency,
    perDestinationConcurrency: d.concurrency,
  };
}

export async function freeLoopbackPort(): Promise<number> {
  for (let i = 0; i < 20; i++) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = net.createServer();
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    if (!RESERVED.has(port)) return port;
  }
  throw new Error('no free loopback port found');
}

function runCli(args: string[], env: NodeJS.ProcessEnv, stdin: string, timeoutMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d));
    child.stderr.on('data', (d: Buffer) => (output += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(output.trim());
      else reject(new Error(`postern ${args.join(' ')} failed (${signal ?? `exit ${code}`}): ${output.trim()}`));
    });
    child.stdin.end(stdin);
  });
}

function waitForPort(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      if (child.exitCode !== null || child.signalCode !== null)
        return reject(new Error(`postern serve exited (${child.exitCode ?? child.signalCode})`));
      if (Date.now() > until) return reject(new Error(`postern did not listen on 127.0.0.1:${port} within ${timeoutMs} ms`));
      const s = net.connect({ host: '127.0.0.1', port });
      s.once('connect', () => {
        s.destroy();
        resolve();
      });
      s.once('error', () => {
        s.destroy();
        setTimeout(attempt, 100);
      });
    };
    attempt();
  });
}

export async function spawnPostern(o: SpawnOptions): Promise<PosternChild> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'postern-bench-'));
  const port = o.listeners?.[0]?.port ?? (await freeLoopbackPort());
  const config = {
    hostname: 'bench.postern.test',
    dataDir: path.join(dir, 'data'),
    listeners: o.listeners ?? [
      {
        role: o.tls === 'implicit' ? 'submissions' : 'submission',
        port,
        host: '127.0.0.1',
        maxConnectionsPerIp: Math.max(100, o.maxConns * 2),
        maxConnections: Math.max(1000, o.maxConns * 4),
      },
    ],
    ...(o.auth ? { auth: o.auth } : {}),
    log: { level: 'warn' },
    web: { enabled: false },
    dkim: { enabled: (o.dkim ?? 'off') !== 'off', ed25519: o.dkim === 'both' },
    scan: o.scanUrl ? { enabled: true, url: o.scanUrl } : { enabled: false },
    delivery: deliveryConfig(o.delivery),
    // one mailbox sending thousands of messages an hour is exactly what containment stops
    containment: { enabled: false },
    ...(o.workers !== null ? { workers: o.workers } : {}),
    ...(o.store
      ? {
          store: {
            kind: 'postgres',
            url: o.store.url,
            schema: o.store.schema,
            ...(o.store.poolSize ? { poolSize: o.store.poolSize } : {}),
          },
        }
      : {}),
    ...(o.nodeName ? { nodeName: o.nodeName } : {}),
    ...(o.secretsKeyFile ? { secrets: { keyFile: path.resolve(o.secretsKeyFile) } } : {}),
    ...(o.tlsCert && o.tlsKey ? { tls: { cert: path.resolve(o.tlsCert), key: path.resolve(o.tlsKey) } } : {}),
    ...(o.dovecot ? { auth: { failureDelayMs: 0, dovecot: { socket: o.dovecot.socket, cacheSeconds: o.dovecot.cacheSeconds } } } : {}),
    // settings to try (e.g. '{"queue":{"inlineBodyMaxBytes":0}}'): top-level sections replace the bench's
    ...(process.env.POSTERN_BENCH_CONFIG ? (JSON.parse(process.env.POSTERN_BENCH_CONFIG) as Record<string, unknown>) : {}),
  };
  const configFile = path.join(dir, 'postern.yaml');
  fs.writeFileSync(configFile, JSON.stringify(config, null, 2) + '\n'); // JSON is YAML
  const env = { ...process.env, POSTERN_CONFIG: configFile };

  const domain = o.user.slice(o.user.lastIndexOf('@') + 1);
  if (o.provision ?? true) {
    o.log(`postern: provisioning ${o.user} in ${o.store ? `PostgreSQL schema ${o.store.schema}` : dir}`);
    await runCli(['migrate'], env, ''); // other commands refuse a store that does not exist
    await runCli(['customer', 'add', 'bench'], env, '');
    await runCli(['domain', 'add', domain, '--customer', 'bench'], env, '');
    if ((o.dkim ?? 'off') !== 'off') await runCli(['dkim', 'activate', domain, '--force'], env, '');
    if (!o.dovecot) await runCli(['mailbox', 'add', o.user, '--password-stdin'], env, `${o.pass}\n`);
    // the default sending limits (1,000 recipients an hour per mailbox) would hold the load
    await runCli(['limits', 'clear', 'mailbox', '*'], env, '');
  }

  const logFile = path.join(dir, 'serve.log');
  const logFd = fs.openSync(logFile, 'a');
  const nodeArgs = o.cpuProf ? ['--cpu-prof', '--cpu-prof-dir', path.resolve(o.cpuProf)] : [];
  const child = spawn(process.execPath, [...nodeArgs, CLI, 'serve'], { cwd: ROOT, env, stdio: ['ignore', logFd, logFd] });
  fs.closeSync(logFd);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const alive = () => child.exitCode === null && child.signalCode === null;
  const handle: PosternChild = {
    pid: child.pid ?? -1,
    port,
    dir,
    logFile,
    alive,
    kill() {
      if (alive()) child.kill('SIGKILL');
    },
    async stop() {
      if (alive()) {
        child.kill('SIGTERM');
        const grace = new Promise<'late'>((r) => setTimeout(() => r('late'), 15_000).unref());
        if ((await Promise.race([exited, grace])) === 'late') {
          o.log('postern: did not stop within 15 s of SIGTERM; SIGKILL');
          child.kill('SIGKILL');
          await exited;
        }
      }
    },
  };
  try {
    await waitForPort(port, child, 30_000);
  } catch (err) {
    handle.kill();
    const tail = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').slice(-2000) : '';
    throw new Error(`${(err as Error).message}\n${tail}`);
  }
  o.log(`postern: pid ${handle.pid} listening on 127.0.0.1:${port} (${o.tls}), log ${logFile}`);
  return handle;
}

export const generatedPassword = () => `bench-${randomBytes(12).toString('hex')}`;
