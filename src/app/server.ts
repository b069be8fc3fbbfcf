/**
 * A running server from a configuration: the core parts (core.ts), delivery where this
 * process delivers (outbound.ts) and the local channel where it serves it (local.ts), as the
 * process table says (processes.ts), started in order and stopped in reverse (lifecycle.ts).
 * Used by `postern serve`, the supervisor's workers and the integration tests.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { secretsKeyFile, type Config } from '../config/index.ts';
import { systemClock, type Clock } from '../core/index.ts';
import { openStore, type Store } from '../store/index.ts';
import { createSpool } from '../spool/index.ts';
import { checkSecretsKey, createSecretBox, loadOrCreateKey } from '../credentials/index.ts';
import { ensureSelfSigned, fingerprint, type Listener, type ListenerDeps } from '../listener/index.ts';
import type { Metrics } from '../observability/index.ts';
import type { Pickup } from '../inject/index.ts';
import type { BlocklistJob } from '../reputation/index.ts';
import { buildCore, type Core } from './core.ts';
import { createOutbound, type Outbound } from './outbound.ts';
import { localChannel, type LocalChannel, type LocalServers } from './local.ts';
import { createLifecycle, type Part } from './lifecycle.ts';
import { partsOf, type ProcessKind } from './processes.ts';

export interface RunningServer {
  listeners: Listener[];
  store: Store;
  /** Outgoing delivery, when this process delivers. */
  outbound: Outbound | null;
  /** The blocklist watch (null: no zones or no pools configured, or not this process). */
  blocklists: BlocklistJob | null;
  /** The HTTPS send API and the sendmail socket, when this process serves them. */
  local: LocalServers | null;
  /** The drop folder's pickup, when this process serves the local channel. */
  pickup: Pickup | null;
  metrics: Metrics;
  close(): Promise<void>;
}

export interface StartOptions {
  logger: Logger;
  clock?: Clock;
  /** Which process this is (processes.ts); default 'single': everything. */
  process?: ProcessKind;
  /** Per-IP gates shared across worker processes (supervisor/); default: in this process. */
  gateFor?: ListenerDeps['gateFor'];
  /** Called after each group commit when this process does not deliver. */
  onQueued?: () => void;
  /** The text of /metrics from this process's registry (default: its own; supervisor/: every worker's). */
  metricsOf?: (own: Registry) => Promise<string>;
}

/**
 * What runs once per data folder before any listener: the schema, the start-up recovery of
 * the queue (orphan bodies swept) and the default certificate. With several worker processes
 * the supervisor runs this before forking, so no worker sweeps another's bodies in flight.
 * Returns the configuration with tls.cert/key filled in.
 */
export async function prepareDataDir(config: Config, logger: Logger): Promise<Config> {
  fs.mkdirSync(config.dataDir, { recursive: true });
  const store = await openStore(config);
  try {
    const spool = await createSpool(path.join(config.dataDir, 'spool'));
    const files = await store.queue.bodyPaths();
    const swept = await spool.sweep(files);
    await checkSecretsKey(store, createSecretBox(loadOrCreateKey(secretsKeyFile(config))), secretsKeyFile(config));
    logger.info(
      {
        evt: 'recovery',
        queued: await store.queue.count(),
        spoolFiles: files.size,
        orphansRemoved: swept,
        store: store.kind,
        dataDir: config.dataDir,
      },
      'queue recovered',
    );
  } finally {
    await store.close();
  }
  if (config.tls.cert && config.tls.key) return config;
  const made = await ensureSelfSigned(path.join(config.dataDir, 'tls'), config.hostname);
  logger.warn(
    {
      evt: 'tls',
      selfSigned: true,
      created: made.created,
      cert: made.cert,
      sha256: fingerprint(fs.readFileSync(made.cert, 'utf8')),
    },
    'using a self-signed certificate; set tls.cert and tls.key for production',
  );
  return { ...config, tls: { ...config.tls, cert: made.cert, key: made.key } };
}

export { lockoutPolicyOf } from './core.ts';

/** The core's own parts: nothing to start, each stopped after everything above it. */
function coreParts(core: Core): { bottom: Part[]; enqueuer: Part } {
  return {
    bottom: [
      { name: 'store', stop: () => core.store.close() },
      { name: 'store-watch', stop: () => core.unwatch() },
      { name: 'dovecot', stop: () => core.closeDovecot() },
      { name: 'tls', stop: () => core.tls.close() },
      { name: 'webhook-events', stop: () => core.webhooks?.close() },
    ],
    enqueuer: { name: 'enqueuer', stop: () => core.enqueuer.drain() },
  };
}

function listenersPart(core: Core, logger: Logger): Part {
  return {
    name: 'listeners',
    async start() {
      for (const l of core.listeners) {
        const addr = await l.listen();
        logger.info({ evt: 'listening', listener: l.name, role: l.config.role, address: addr.address, port: addr.port }, 'listening');
      }
    },
    stop: async () => void (await Promise.all(core.listeners.map((l) => l.close()))),
  };
}

/** Starts the listeners of an already prepared data folder (see prepareDataDir). */
export async function startListeners(config: Config, opts: StartOptions): Promise<RunningServer> {
  const { logger } = opts;
  const clock = opts.clock ?? systemClock;
  if (!config.tls.cert || !config.tls.key) throw new Error('startListeners: the data folder is not prepared (no certificate)');
  const runs = partsOf(opts.process ?? 'single', config);
  let outbound: Outbound | null = null;
  let local: LocalChannel | null = null;
  const core = await buildCore(config, {
    logger,
    clock,
    gateFor: opts.gateFor,
    countsQueue: runs.local,
    hooks: {
      onCommitted: () => (outbound ? outbound.kick() : opts.onQueued?.()),
      claimed: () => outbound?.scheduler.stats() ?? null,
      onWebhookEnqueued: () => local?.dispatcher()?.kick(),
    },
  });
  if (runs.local) local = localChannel(config, core, { logger, clock, outbound: () => outbound, metricsOf: opts.metricsOf });
  const delivery: Part = {
    name: 'delivery',
    async start() {
      const { store, spool, intake, secrets, metrics, webhooks } = core;
      outbound = createOutbound(config, { store, spool, intake, clock, logger, secrets, metrics, webhooks });
      await outbound.scheduler.start();
    },
    stop: () => outbound?.close(),
  };
  const { bottom, enqueuer } = coreParts(core);
  const life = createLifecycle(
    [
      ...bottom,
      ...(local ? [local.dispatch] : []),
      ...(runs.delivery ? [delivery] : []),
      enqueuer,
      listenersPart(core, logger),
      ...(local ? local.parts : []),
    ],
    logger,
  );
  await life.start();
  return {
    listeners: core.listeners,
    store: core.store,
    metrics: core.metrics,
    get outbound() {
      return outbound;
    },
    blocklists: local?.blocklists ?? null,
    local: local?.servers ?? null,
    pickup: local?.pickup ?? null,
    close: () => life.stop(),
  };
}

/** One process: prepare the data folder, then listen (tests, and `workers: 1`). */
export async function startServer(config: Config, opts: StartOptions): Promise<RunningServer> {
  return startListeners(await prepareDataDir(config, opts.logger), opts);
}
