/**
 * Runs the real `postern` executable (node bin/postern.js) as a child process for integration
 * tests: one-shot CLI commands and a long-running `serve`, each with its own temporary working
 * directory and a postern.yaml passed through POSTERN_CONFIG. Everything on 127.0.0.1.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BIN = path.join(ROOT, 'bin', 'postern.js');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface Workspace {
  dir: string; // the working directory of every command
  config: string; // the postern.yaml
  dataDir: string;
  env: NodeJS.ProcessEnv;
}

/** A temporary folder with a postern.yaml whose dataDir is ./data inside it, and its store made
 *  (`postern migrate`), as an installed server has it: other commands refuse a missing store.
 *  A configuration that does not load makes no store (the tests of its errors need none). */
export function makeWorkspace(yaml: string, prefix = 'postern-cli-'): Workspace {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), prefix)));
  const config = path.join(dir, 'postern.yaml');
  fs.writeFileSync(config, yaml);
  const env: NodeJS.ProcessEnv = { ...process.env, POSTERN_CONFIG: config };
  delete env.NODE_TEST_CONTEXT; // set by node --test for its own children
  delete env.NODE_OPTIONS;
  if (!/kind:\s*postgres/.test(yaml)) {
    const made = spawnSync(process.execPath, [BIN, 'migrate'], { cwd: dir, env, encoding: 'utf8' });
    assert.ok(made.status === 0 || made.status === 78, `postern migrate: ${made.stderr}`);
  }
  return { dir, config, dataDir: path.join(dir, 'data'), env };
}

/** A postern.yaml with the given listeners on 127.0.0.1 and dataDir ./data. */
export function serveYaml(listeners: { role: string; port: number }[], extra = ''): string {
  return [
    'hostname: mx.postern.test',
    'dataDir: ./data',
    'listeners:',
    ...listeners.flatMap((l) => [`  - role: ${l.role}`, `    port: ${l.port}`, '    host: 127.0.0.1']),
    'log:',
    '  level: info',
    ...(extra.includes('delivery:') ? [] : ['delivery:', '  enabled: false']),
    ...(extra.includes('web:') ? [] : ['web:', '  port: 0', '  host: 127.0.0.1']),
    extra,
    '',
  ].join('\n');
}

/** Runs `node bin/postern.js ARGS` to completion. */
export function runCli(ws: Workspace, args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ws.dir, env: ws.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      stdout += s;
    });
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      stderr += s;
    });
    const guard = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`postern ${args.join(' ')} did not finish; stdout: ${stdout} stderr: ${stderr}`));
    }, opts.timeoutMs ?? 60_000);
    child.on('error', (err) => {
      clearTimeout(guard);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(guard);
      resolve({ code, signal, stdout, stderr });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}

/** A TCP port on 127.0.0.1 that was free a moment ago (bound to 0, then closed). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export async function freePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

/** Holds a port on 127.0.0.1 (so that another bind fails with EADDRINUSE). */
export function occupyPort(port = 0): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer((s) => s.destroy());
    srv.once('error', reject);
    srv.listen(port, '127.0.0.1', () => resolve(srv));
  });
}

export interface ServeProcess {
  child: ChildProcess;
  /** Parsed JSON log lines from stdout. */
  logs: Record<string, unknown>[];
  stderr(): string;
  /** Resolves when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then SIGKILL if it does not stop; resolves on exit. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Spawns `postern serve` without waiting for anything. */
export function spawnServe(ws: Workspace): ServeProcess {
  const child = spawn(process.execPath, [BIN, 'serve'], { cwd: ws.dir, env: ws.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: Record<string, unknown>[] = [];
  let stderr = '';
  let partial = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => {
    partial += s;
    const lines = partial.split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      if (!line.trim()) continue;
      try {
        logs.push(JSON.parse(line));
      } catch {
        logs.push({ raw: line });
      }
    }
    child.emit('postern-log');
  });
  child.stderr!.setEncoding('utf8').on('data', (s: string) => {
    stderr += s;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal }));
  });
  return {
    child,
    logs,
    stderr: () => stderr,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 30_000);
        const r = await exited;
        clearTimeout(t);
        return r;
      }
      return exited;
    },
  };
}

/** Spawns `postern serve` and waits until it logged "ready" (every worker listening on all
 *  `listeners` listeners). */
export async function startServe(ws: Workspace, listeners: number, timeoutMs = 60_000): Promise<ServeProcess> {
  const p = spawnServe(ws);
  const listening = () => p.logs.filter((l) => l.evt === 'listening').length;
  const ready = () => p.logs.some((l) => l.evt === 'ready');
  await new Promise<void>((resolve, reject) => {
    const check = () => {
      if (ready() && listening() >= listeners) {
        cleanup();
        resolve();
      }
    };
    const onExit = (code: number | null) => {
      cleanup();
      reject(new Error(`postern serve exited (${code}) before listening; stderr: ${p.stderr()}`));
    };
    const guard = setTimeout(() => {
      cleanup();
      p.child.kill('SIGKILL');
      reject(new Error(`postern serve did not listen; logs: ${JSON.stringify(p.logs)} stderr: ${p.stderr()}`));
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(guard);
      p.child.off('postern-log', check);
      p.child.off('exit', onExit);
    };
    p.child.on('postern-log', check);
    p.child.on('exit', onExit);
    check();
  });
  return p;
}

// ---- assertions shared by the CLI tests ----

/** A successful command: exit 0, nothing on stderr. */
export function ok(r: CliResult, what: string): CliResult {
  assert.equal(r.code, 0, `${what}: exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  assert.equal(r.stderr, '', `${what}: nothing on stderr`);
  return r;
}

/** A refused command: non-zero exit, exactly one clear line on stderr, no stack trace, nothing on stdout. */
export function refused(r: CliResult, re: RegExp, what: string): void {
  assert.notEqual(r.code, 0, `${what}: must fail\nstdout: ${r.stdout}`);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `${what}: one stderr line, got:\n${r.stderr}`);
  assert.match(lines[0], /^postern: /, what);
  assert.match(lines[0], re, what);
  assert.doesNotMatch(r.stderr, /^\s+at /m, `${what}: no stack trace`);
  assert.equal(r.stdout, '', `${what}: nothing on stdout`);
}

export function parseJson<T = unknown>(r: CliResult): T {
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    assert.fail(`not JSON: ${r.stdout}`);
  }
}
