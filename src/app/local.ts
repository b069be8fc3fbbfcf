/**
 * The local channel's parts, in the one process that serves it (processes.ts): webhook
 * dispatch, the drop folder's pickup, the sendmail socket, the HTTPS listener with its mounts
 * (web.ts) and the housekeeping jobs (jobs.ts), each as a lifecycle part.
 */
import type { Registry } from 'prom-client';
import { localPaths, type Config } from '../config/index.ts';
import type { Clock } from '../core/index.ts';
import { diskReadiness } from '../spool/index.ts';
import { createPickup, passwdLookup, prepareDropDir, startSendmailSocket, type Pickup, type SendmailSocket } from '../inject/index.ts';
import { createDispatcher, endpointGuardOf, type Dispatcher } from '../webhooks/index.ts';
import { outgoingOf } from '../clientsetup/index.ts';
import { adminServiceFactory } from '../admin/api/index.ts';
import type { BlocklistJob } from '../reputation/index.ts';
import type { Logger } from 'pino';
import type { Core } from './core.ts';
import { lockoutPolicyOf } from './core.ts';
import type { Outbound } from './outbound.ts';
import { createHousekeeping } from './housekeeping.ts';
import { declareJobs } from './jobs.ts';
import type { Part } from './lifecycle.ts';
import { serverOps } from './ops.ts';
import { startWeb, type WebMounts, type WebServer } from './web.ts';

/** The HTTPS send API and the sendmail socket of a process that serves them. */
export interface LocalServers {
  /** The HTTPS address, or null when web is off (or not started). */
  webAddress(): ReturnType<WebServer['address']>;
  socketPath: string;
}

export interface LocalChannel {
  /** Webhook dispatch: started before delivery and stopped after it (delivery results become events). */
  dispatch: Part;
  /** The drop folder, the sendmail socket, the web listener and the housekeeping, in start order. */
  parts: Part[];
  servers: LocalServers;
  pickup: Pickup;
  blocklists: BlocklistJob | null;
  dispatcher(): Dispatcher | null;
}

export interface LocalOptions {
  logger: Logger;
  clock: Clock;
  outbound: () => Outbound | null;
  /** The text of /metrics from this process's registry (default: its own). */
  metricsOf?: (own: Registry) => Promise<string>;
}

export function localChannel(config: Config, core: Core, o: LocalOptions): LocalChannel {
  const { logger, clock } = o;
  const { store, metrics, secrets, intake, injector } = core;
  const paths = localPaths(config);
  let web: WebServer | null = null;
  let socket: SendmailSocket | null = null;
  let dispatcher: Dispatcher | null = null;
  const rejectedDir = `${paths.dropDir}.rejected`;
  const pickup = createPickup({
    dir: paths.dropDir,
    rejectedDir,
    injector,
    intake,
    store,
    clock,
    logger,
    retryMs: config.local.dropRetryHours * 3_600_000,
    hostname: config.hostname,
    bounceFrom: config.bounce.from ?? `MAILER-DAEMON@${config.hostname}`,
    postmaster: config.bounce.postmaster ?? null,
    userOf: passwdLookup(),
    maxBytes: config.smtp.maxMessageSize + 1024 * 1024,
    metrics,
  });
  const housekeeping = createHousekeeping({ logger, metrics });
  const blocklists = declareJobs(housekeeping, config, {
    store,
    intake,
    clock,
    logger,
    metrics,
    secrets,
    keyring: core.keyring,
    listingsChanged: () => o.outbound()?.listingsChanged(),
  });
  const api = {
    injector,
    store,
    authenticator: core.authenticator,
    lockout: lockoutPolicyOf(config),
    clock,
    logger,
    maxMessageSize: config.smtp.maxMessageSize,
    failureDelayMs: config.auth.failureDelayMs,
    metrics,
  };
  const dispatch: Part = {
    name: 'webhook-dispatch',
    async start() {
      if (!config.webhooks.enabled) return;
      dispatcher = createDispatcher({
        store,
        secrets,
        clock,
        logger,
        config: config.webhooks,
        owner: config.nodeName,
        registry: metrics.registry,
        guard: endpointGuardOf(config),
      });
      await dispatcher.start();
    },
    stop: () => dispatcher?.stop(),
  };
  const parts: Part[] = [
    {
      name: 'maildrop',
      async start() {
        prepareDropDir(paths.dropDir, rejectedDir);
        const taken = await pickup.scan();
        if (taken) logger.info({ evt: 'maildrop', accepted: taken }, 'drop folder taken in at start-up');
        pickup.start(config.local.dropScanSeconds * 1000);
      },
      stop: () => pickup.close(),
    },
    {
      name: 'sendmail-socket',
      async start() {
        socket = await startSendmailSocket({ socketPath: paths.socket, api, logger });
      },
      stop: () => socket?.close(),
    },
    {
      name: 'web',
      async start() {
        if (config.web.enabled)
          web = await startWeb({ web: config.web, tls: core.tls, api, mounts: mountsOf(config, core, o, () => web), logger });
      },
      stop: () => web?.close(),
    },
    { name: 'housekeeping', start: () => housekeeping.start(), stop: () => housekeeping.stop() },
  ];
  return {
    dispatch,
    parts,
    servers: { webAddress: () => web?.address() ?? null, socketPath: paths.socket },
    pickup,
    blocklists,
    dispatcher: () => dispatcher,
  };
}

/** What the HTTPS listener mounts besides the send API. */
function mountsOf(config: Config, core: Core, o: LocalOptions, web: () => WebServer | null): WebMounts {
  const { store, metrics, secrets, spool } = core;
  const { logger, clock } = o;
  const clientHost = config.clients.host ?? config.hostname;
  const service = adminServiceFactory(config, store, secrets, () => clock.now());
  const lockout = lockoutPolicyOf(config);
  return {
    ops: serverOps({
      registry: metrics.registry,
      of: o.metricsOf,
      metricsAllow: config.web.metricsAllow,
      store,
      listeners: core.listeners,
      heldResults: () => o.outbound()?.scheduler.held() ?? 0,
      disk: diskReadiness({ dir: config.dataDir, minFreeBytes: config.queue.minFreeMegabytes * 1024 * 1024 }),
    }),
    clientSetup: {
      isHosted: core.isHostedDomain,
      // the ports the listeners actually bound, and the web port (known once it listens)
      settings: () => ({
        provider: config.clients.provider ?? config.hostname,
        webHost: config.clients.webHost ?? clientHost,
        webPort: web()?.address()?.port ?? config.web.port,
        outgoing: outgoingOf(
          clientHost,
          core.listeners.map((l) => ({ role: l.config.role, port: l.address()?.port ?? l.config.port })),
        ),
        incoming: config.clients.incoming,
      }),
    },
    admin: config.adminApi.enabled
      ? {
          store,
          clock,
          logger,
          lockout,
          failureDelayMs: config.auth.failureDelayMs,
          metrics,
          maxBodyBytes: config.adminApi.maxBodyBytes,
          removeBody: (relPath) => spool.remove(relPath),
          service,
        }
      : undefined,
    console: config.console.enabled
      ? {
          store,
          clock,
          logger,
          authenticator: core.authenticator,
          lockout,
          failureDelayMs: config.auth.failureDelayMs,
          metrics,
          removeBody: (relPath) => spool.remove(relPath),
          registry: metrics.registry,
          sessions: { sessionMs: config.console.sessionHours * 3_600_000, idleMs: config.console.idleMinutes * 60_000 },
          service,
          secrets,
          twoFactor: config.console.twoFactor,
        }
      : undefined,
  };
}
