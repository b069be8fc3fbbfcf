/**
 * Starts a real Postern server in this process for integration tests: a temporary dataDir,
 * SQLite, every listener on 127.0.0.1 with a free port, logs captured in memory.
 */
import fs from 'node:fs';
import nodemailer from 'nodemailer';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { createSecretBox, loadOrCreateKey } from '../../src/credentials/index.ts';
import { parseConfig, secretsKeyFile, type ConfigInput, type Config, type ListenerRole } from '../../src/config/index.ts';
import { createLogger } from '../../src/observability/index.ts';
import type { Clock } from '../../src/core/index.ts';
import { startServer, type RunningServer } from '../../src/app/index.ts';
import { createAdminService } from '../../src/admin/service.ts';
import { dkimAdminOptions } from '../../src/admin/dkim.ts';
import { endpointGuardOf } from '../../src/webhooks/index.ts';

export interface TestServer {
  config: Config;
  dataDir: string;
  server: RunningServer;
  logs: Record<string, unknown>[];
  port(role: ListenerRole): number;
  /** Adds customer, domain and mailbox as the CLI would. */
  addMailbox(address: string, password: string, customer?: string): Promise<void>;
  admin: ReturnType<typeof createAdminService>;
  /** A queued message's body, wherever it is stored (queue row or spool file). */
  body(id: string): Promise<Buffer>;
  close(): Promise<void>;
}

export function tempDir(prefix = 'postern-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export async function startTestServer(overrides: Partial<ConfigInput> = {}, opts: { clock?: Clock } = {}): Promise<TestServer> {
  const dataDir = tempDir();
  const config = parseConfig({
    hostname: 'mx.postern.test',
    dataDir,
    listeners: [
      { role: 'submission', port: 0, host: '127.0.0.1' },
      { role: 'submissions', port: 0, host: '127.0.0.1' },
      { role: 'mx', port: 0, host: '127.0.0.1', greetingDelayMs: 0 },
    ],
    log: { level: 'debug' },
    delivery: { enabled: false }, // tests that deliver pass their own delivery settings
    web: { port: 0, host: '127.0.0.1' },
    dkim: { enabled: false }, // RSA keys take time to make; the DKIM tests turn it on
    ...overrides,
    // no tarpit unless a test asks for it; and the tests' loopback clients stand for outside
    // clients, so loopback is not trusted (never banned) unless a test says so
    auth: { failureDelayMs: 0, trustedNetworks: [], ...overrides.auth },
  });
  config.store.path = path.join(dataDir, 'postern.db');
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line) logs.push(JSON.parse(line));
      cb();
    },
  });
  const logger = createLogger(config.log.level, sink);
  const server = await startServer(config, { logger, clock: opts.clock });
  const now = opts.clock ? () => opts.clock!.now() : Date.now;
  const secrets = () => createSecretBox(loadOrCreateKey(secretsKeyFile(config)));
  const admin = createAdminService(server.store, {
    now,
    secrets,
    dkim: dkimAdminOptions(config, server.store, secrets, now),
    webhooks: { allowInsecure: config.webhooks.allowInsecure, guard: endpointGuardOf(config) },
    suppressionDays: config.suppression.days,
    pools: { pools: config.delivery.pools, defaultPool: config.delivery.defaultPool ?? null },
  });
  return {
    config,
    dataDir,
    server,
    logs,
    admin,
    port(role) {
      const l = server.listeners.find((x) => x.config.role === role);
      if (!l) throw new Error(`no ${role} listener`);
      return l.address()!.port;
    },
    async addMailbox(address, password, customer = 'acme') {
      const domain = address.split('@')[1];
      if (!(await server.store.customers.get(customer))) await admin.addCustomer(customer);
      if (!(await server.store.domains.get(domain))) await admin.addDomain(domain, customer);
      await admin.addMailbox(address, password);
    },
    async body(id) {
      const m = await server.store.queue.get(id);
      if (!m) throw new Error(`no queued message ${id}`);
      if (m.bodyPath) return fs.readFileSync(path.join(dataDir, 'spool', m.bodyPath));
      const b = await server.store.queue.inlineBody(id);
      if (!b) throw new Error(`message ${id} has neither a body file nor an inline body`);
      return b;
    },
    async close() {
      await server.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * One authenticated session on the submission port, from a given loopback address: sends a
 * message when `to` is given (else only logs in). Resolves with the final reply ('ok' for a
 * login alone), or the refusal's reply; never rejects.
 */
export async function submitAs(
  s: TestServer,
  o: { user: string; pass: string; to?: string[]; from?: string; text?: string },
): Promise<string> {
  const tr = nodemailer.createTransport({
    host: '127.0.0.1',
    port: s.port('submission'),
    requireTLS: true,
    localAddress: o.from ?? '127.0.0.1',
    auth: { user: o.user, pass: o.pass },
    tls: { rejectUnauthorized: false },
  });
  try {
    if (!o.to) return (await tr.verify(), 'ok');
    return (await tr.sendMail({ from: o.user, to: o.to, text: o.text ?? 'x' })).response;
  } catch (err) {
    return (err as { response?: string }).response ?? (err as Error).message;
  } finally {
    tr.close();
  }
}
