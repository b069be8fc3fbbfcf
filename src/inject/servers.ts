/**
 * The HTTPS listener (the send API; TLS 1.2 at least, the certificates of tls.*, reloaded with
 * them; client setup; /healthz, /readyz and /metrics) and the local socket of `postern
 * sendmail` (mode 0666: a site token authenticates every request). Both serve the send API;
 * the socket accepts site tokens only.
 */
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import path from 'node:path';
import { getRequestListener } from '@hono/node-server';
import type { Logger } from 'pino';
import { TLS_MIN_VERSION, type TlsRegistry } from '../listener/index.ts';
import { createCounter } from '../limits/index.ts';
import { createSendApi, type SendApiDeps } from './api.ts';
import { mountClientSetup, type ClientSetupDeps } from '../clientsetup/index.ts';
import type { Hono } from 'hono';
import type { Env } from './api.ts';
import { mountOps, type OpsDeps } from './ops.ts';
import { mountAdminRoutes, type AdminApiDeps } from '../admin/api/index.ts';
import { mountConsole, type ConsoleDeps } from '../admin/ui/index.ts';

export interface WebConfig { port: number; host: string; maxConnections: number; maxConnectionsPerIp: number }

export interface LocalServers {
  /** The HTTPS address, or null when web is off. */
  webAddress(): net.AddressInfo | null;
  socketPath: string;
  close(): Promise<void>;
}

/** A port or socket that cannot be bound: one line naming it and the remedy. */
export class WebBindError extends Error {
  constructor(where: string, code: string) {
    const remedy = code === 'EACCES'
      ? 'ports below 1024 need root or CAP_NET_BIND_SERVICE; or set web.port / local.socket in postern.yaml'
      : code === 'EADDRINUSE' ? 'another program already listens there; stop it or set web.port / local.socket in postern.yaml' : 'see the system error above';
    super(`cannot listen on ${where}: ${code}: ${remedy}`);
    this.name = 'WebBindError';
  }
}

function listen(server: net.Server, where: string, ...args: unknown[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => reject(new WebBindError(where, err.code ?? err.message));
    server.once('error', onError);
    (server.listen as (...a: unknown[]) => void)(...args, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

/** Removes a socket file left by a previous run (never a file that is not a socket). */
function clearStaleSocket(p: string): void {
  try {
    if (fs.lstatSync(p).isSocket()) fs.unlinkSync(p);
  } catch { /* none */ }
}

export interface WebMounts { clientSetup?: ClientSetupDeps; ops?: OpsDeps; admin?: AdminApiDeps; console?: ConsoleDeps }

/** The web listener's routes besides the send API: client setup, health, readiness and metrics. */
function mountWeb(app: Hono<Env>, o: WebMounts): void {
  if (o.clientSetup) mountClientSetup(app, o.clientSetup);
  if (o.ops) mountOps(app, o.ops);
  if (o.admin) mountAdminRoutes(app, o.admin);
  if (o.console) mountConsole(app, o.console);
}

/** The app of the HTTPS listener: the send API and every mount (its route list is what the OpenAPI test compares). */
export function createWebApp(api: Omit<SendApiDeps, 'channel' | 'mount'>, o: WebMounts): Hono<Env> {
  return createSendApi({ ...api, channel: 'web', mount: (app) => mountWeb(app, o) });
}

export async function startLocalServers(o: {
  web: WebConfig | null;
  socketPath: string;
  tls: TlsRegistry;
  api: Omit<SendApiDeps, 'channel' | 'mount'>;
  /** Autoconfig, Autodiscover and the settings page on the web listener. */
  clientSetup?: ClientSetupDeps;
  /** GET /healthz, /readyz and /metrics (Prometheus text format, for web.metricsAllow) on the web listener. */
  ops?: OpsDeps;
  /** The admin API (/api/v1/...) on the web listener only. */
  admin?: AdminApiDeps;
  /** The web console (/console) on the web listener only. */
  console?: ConsoleDeps;
  logger: Logger;
}): Promise<LocalServers> {
  const servers: net.Server[] = [];
  let web: https.Server | null = null;
  const closeAll = () => Promise.all(servers.map((s) => new Promise<void>((r) => {
    s.close(() => r());
    (s as http.Server).closeAllConnections?.();
  })));
  try {
    if (o.web) {
      const pair = o.tls.defaults();
      web = https.createServer({
        key: pair.key, cert: pair.cert, minVersion: TLS_MIN_VERSION, SNICallback: o.tls.sniCallback,
      }, getRequestListener(createWebApp(o.api, o).fetch));
      web.maxConnections = o.web.maxConnections;
      // per client address, like the SMTP listeners' gate (before TLS: nothing to answer with)
      const perIp = createCounter(o.web.maxConnectionsPerIp);
      web.on('connection', (sock: net.Socket) => {
        const ip = sock.remoteAddress ?? '';
        if (perIp.tryAcquire(ip) !== 'ok') {
          o.logger.warn({ evt: 'connect', listener: 'web', ip, result: 'refused', reason: 'per-ip-limit' }, 'connection refused: too many from this address');
          sock.destroy();
          return;
        }
        sock.once('close', () => perIp.release(ip));
      });
      web.headersTimeout = 30_000;
      web.requestTimeout = 600_000;
      o.tls.onDefaultChange((p) => web!.setSecureContext({ key: p.key, cert: p.cert, minVersion: TLS_MIN_VERSION }));
      servers.push(web);
      const where = `${o.web.host === '::' ? '*' : o.web.host}:${o.web.port} (web)`;
      try {
        await listen(web, where, o.web.port, o.web.host);
      } catch (err) {
        if (o.web.host !== '::' || !/EAFNOSUPPORT|EADDRNOTAVAIL/.test((err as Error).message)) throw err;
        await listen(web, where, o.web.port, '0.0.0.0');
      }
      const a = web.address() as net.AddressInfo;
      o.logger.info({ evt: 'listening', listener: 'web', role: 'web', address: a.address, port: a.port }, 'listening');
    }
    const local = http.createServer(getRequestListener(createSendApi({ ...o.api, channel: 'local' }).fetch));
    local.requestTimeout = 600_000;
    local.headersTimeout = 30_000;
    local.maxConnections = 256; // local users cannot exhaust the descriptors of the process
    servers.push(local);
    fs.mkdirSync(path.dirname(o.socketPath), { recursive: true });
    clearStaleSocket(o.socketPath);
    await listen(local, `${o.socketPath} (sendmail socket)`, o.socketPath);
    fs.chmodSync(o.socketPath, 0o666);
    o.logger.info({ evt: 'listening', listener: 'sendmail', role: 'local', socket: o.socketPath }, 'listening');
  } catch (err) {
    await closeAll();
    throw err;
  }
  return {
    webAddress: () => (web?.address() as net.AddressInfo | null) ?? null,
    socketPath: o.socketPath,
    async close() {
      await closeAll();
      clearStaleSocket(o.socketPath);
    },
  };
}
