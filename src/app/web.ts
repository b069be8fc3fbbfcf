/**
 * The HTTPS listener (web.*; TLS 1.2 at least, the certificates of tls.*, reloaded with them)
 * and its mounts: the send API (inject/), client setup (clientsetup/), /healthz, /readyz and
 * /metrics (ops.ts), the admin API (admin/api) and the console (admin/ui). Connections are
 * counted per client address before TLS, like the SMTP listeners' gate.
 */
import https from 'node:https';
import type net from 'node:net';
import { getRequestListener } from '@hono/node-server';
import type { Hono } from 'hono';
import type { Logger } from 'pino';
import { TLS_MIN_VERSION, type TlsRegistry } from '../listener/index.ts';
import { createCounter } from '../limits/index.ts';
import { closeServer, createSendApi, listenOn, type Env, type SendApiDeps } from '../inject/index.ts';
import { mountClientSetup, type ClientSetupDeps } from '../clientsetup/index.ts';
import { mountAdminRoutes, type AdminApiDeps } from '../admin/api/index.ts';
import { mountConsole, type ConsoleDeps } from '../admin/ui/index.ts';
import { mountOps, type OpsDeps } from './ops.ts';

export interface WebConfig {
  port: number;
  host: string;
  maxConnections: number;
  maxConnectionsPerIp: number;
}

export interface WebMounts {
  /** Autoconfig, Autodiscover and the settings page. */
  clientSetup?: ClientSetupDeps;
  /** GET /healthz, /readyz and /metrics (Prometheus text format, for web.metricsAllow). */
  ops?: OpsDeps;
  /** The admin API (/api/v1/...), on the web listener only. */
  admin?: AdminApiDeps;
  /** The web console (/console), on the web listener only. */
  console?: ConsoleDeps;
}

export interface WebServer {
  address(): net.AddressInfo | null;
  close(): Promise<void>;
}

/** The web listener's routes besides the send API. */
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

/** Refuses a client address's connections beyond maxConnectionsPerIp (before TLS: nothing to answer with). */
function gatePerIp(web: https.Server, perIpMax: number, logger: Logger): void {
  const perIp = createCounter(perIpMax);
  web.on('connection', (sock: net.Socket) => {
    const ip = sock.remoteAddress ?? '';
    if (perIp.tryAcquire(ip) !== 'ok') {
      logger.warn(
        { evt: 'connect', listener: 'web', ip, result: 'refused', reason: 'per-ip-limit' },
        'connection refused: too many from this address',
      );
      sock.destroy();
      return;
    }
    sock.once('close', () => perIp.release(ip));
  });
}

export async function startWeb(o: {
  web: WebConfig;
  tls: TlsRegistry;
  api: Omit<SendApiDeps, 'channel' | 'mount'>;
  mounts: WebMounts;
  logger: Logger;
}): Promise<WebServer> {
  const pair = o.tls.defaults();
  const web = https.createServer(
    {
      key: pair.key,
      cert: pair.cert,
      minVersion: TLS_MIN_VERSION,
      SNICallback: o.tls.sniCallback,
    },
    getRequestListener(createWebApp(o.api, o.mounts).fetch),
  );
  web.maxConnections = o.web.maxConnections;
  gatePerIp(web, o.web.maxConnectionsPerIp, o.logger);
  web.headersTimeout = 30_000;
  web.requestTimeout = 600_000;
  o.tls.onDefaultChange((p) => web.setSecureContext({ key: p.key, cert: p.cert, minVersion: TLS_MIN_VERSION }));
  const where = `${o.web.host === '::' ? '*' : o.web.host}:${o.web.port} (web)`;
  try {
    try {
      await listenOn(web, where, o.web.port, o.web.host);
    } catch (err) {
      if (o.web.host !== '::' || !/EAFNOSUPPORT|EADDRNOTAVAIL/.test((err as Error).message)) throw err;
      await listenOn(web, where, o.web.port, '0.0.0.0');
    }
  } catch (err) {
    await closeServer(web);
    throw err;
  }
  const a = web.address() as net.AddressInfo;
  o.logger.info({ evt: 'listening', listener: 'web', role: 'web', address: a.address, port: a.port }, 'listening');
  return {
    address: () => (web.address() as net.AddressInfo | null) ?? null,
    close: () => closeServer(web),
  };
}
