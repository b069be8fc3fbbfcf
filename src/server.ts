/**
 * Assembles a running server from a configuration: store, spool (with start-up recovery),
 * TLS, credentials, intake and one listener per configured port. Used by `postern serve` and
 * by the integration tests.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { localPaths, secretsKeyFile, type Config } from './config/index.ts';
import { networkMatcher, systemClock, type Clock } from './core/index.ts';
import { openStore, type Store } from './store/index.ts';
import { createSpool, diskReadiness } from './spool/index.ts';
import { createEnqueuer } from './queue/index.ts';
import { createIntake } from './intake/index.ts';
import { createAuthenticator, createDovecotAuth, createLoginCache, type LockoutPolicy } from './credentials/index.ts';
import { createOutbound, notifyHold, type Outbound } from './outbound.ts';
import { startSuppressionPrune } from './suppression.ts';
import { startBlocklistWatch, type BlocklistWatchRun } from './blocklist-watch.ts';
import { createKnownNetworks } from './limits/index.ts';
import { createContainment } from './containment/index.ts';
import { createListener, createTlsRegistry, ensureSelfSigned, fingerprint, type Listener, type ListenerDeps } from './listener/index.ts';
import { checkSecretsKey, createSecretBox, loadOrCreateKey, type SecretBox } from './credentials/index.ts';
import { createDkimService, createDnsLookup, createKeyring, loadSigningLibraries } from './dkim/index.ts';
import { outgoingOf } from './clientsetup/index.ts';
import { createScanner } from './scan/index.ts';
import { createMetrics, type Metrics } from './observability/index.ts';
import type { Registry } from 'prom-client';
import { createDispatcher, createEmitter, endpointGuardOf, type Dispatcher } from './webhooks/index.ts';
import { createInjector, createPickup, passwdLookup, prepareDropDir, serverOps, startLocalServers, type LocalServers, type Pickup } from './inject/index.ts';
import { adminServiceFactory } from './admin/api/index.ts';

export interface RunningServer {
  listeners: Listener[];
  store: Store;
  /** Outgoing delivery, when this process delivers. */
  outbound: Outbound | null;
  /** The blocklist watch (null: no zones or no pools configured, or not this process). */
  blocklists: BlocklistWatchRun | null;
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
  /** Per-IP gates shared across worker processes (supervisor/); default: in this process. */
  gateFor?: ListenerDeps['gateFor'];
  /** Run outgoing delivery in this process (default: config.delivery.enabled). */
  delivery?: boolean;
  /** Called after each group commit when this process does not deliver. */
  onQueued?: () => void;
  /** The text of /metrics from this process's registry (default: its own; supervisor/: every worker's). */
  metricsOf?: (own: Registry) => Promise<string>;
  /** Serve the send API, the sendmail socket and the drop folder in this process (default: yes). */
  local?: boolean;
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
    logger.info({
      evt: 'recovery', queued: await store.queue.count(), spoolFiles: files.size, orphansRemoved: swept, store: store.kind, dataDir: config.dataDir,
    }, 'queue recovered');
  } finally {
    await store.close();
  }
  if (config.tls.cert && config.tls.key) return config;
  const made = await ensureSelfSigned(path.join(config.dataDir, 'tls'), config.hostname);
  logger.warn({
    evt: 'tls', selfSigned: true, created: made.created, cert: made.cert,
    sha256: fingerprint(fs.readFileSync(made.cert, 'utf8')),
  }, 'using a self-signed certificate; set tls.cert and tls.key for production');
  return { ...config, tls: { ...config.tls, cert: made.cert, key: made.key } };
}

export function lockoutPolicyOf(config: Config): LockoutPolicy {
  const a = config.auth;
  return {
    maxFailures: a.maxFailures, lockMs: a.lockMinutes * 60_000, knownIpMs: a.knownIpDays * 86_400_000,
    ipFailures: a.ipFailures, ipWindowMs: a.ipWindowMinutes * 60_000, ipBanMs: a.ipBanMinutes * 60_000,
    knownMaxFailures: a.knownIpMaxFailures, sprayAccounts: a.sprayAccounts, isTrusted: networkMatcher(a.trustedNetworks),
  };
}

/** Starts the listeners of an already prepared data folder (see prepareDataDir). */
export async function startListeners(config: Config, opts: StartOptions): Promise<RunningServer> {
  const { logger } = opts;
  const clock = opts.clock ?? systemClock;
  if (!config.tls.cert || !config.tls.key) throw new Error('startListeners: the data folder is not prepared (no certificate)');
  const store = await openStore(config);
  const spool = await createSpool(path.join(config.dataDir, 'spool'));
  const defaultPair = { cert: config.tls.cert, key: config.tls.key };
  const tls = createTlsRegistry({
    defaultPair,
    sni: config.tls.sni,
    reloadIntervalMs: config.tls.reloadIntervalSeconds * 1000,
    logger,
  });

  const loginCache = createLoginCache({ ttlMs: config.auth.cacheTtlSeconds * 1000, maxEntries: config.auth.cacheMaxEntries, clock });
  const dovecotConfig = config.auth.dovecot;
  const dovecotAuth = dovecotConfig ? createDovecotAuth({
    socket: dovecotConfig.socket, timeoutMs: dovecotConfig.timeoutMs,
    observe: (result, seconds) => {
      metrics.dovecotRequests.inc({ result });
      if (result !== 'error') metrics.dovecotSeconds.observe(seconds);
    },
  }) : null;
  const dovecotCache = createLoginCache({ ttlMs: (dovecotConfig?.cacheSeconds ?? 0) * 1000, maxEntries: config.auth.cacheMaxEntries, clock });
  const authenticator = createAuthenticator({
    mailboxes: store.mailboxes,
    cache: loginCache,
    guard: store.authGuard,
    policy: lockoutPolicyOf(config),
    clock,
    appPasswords: store.appPasswords,
    dovecot: dovecotAuth ? { auth: dovecotAuth, cache: dovecotCache, domains: store.domains, audit: store.audit } : undefined,
  });
  const metrics = createMetrics({
    // the process that serves /metrics counts the queue; the scheduler where it runs
    queueDepth: (opts.local ?? true) ? async () => {
      const d = await store.queue.depth();
      return { messages: d.messages.queued + d.messages.held + d.messages.cancelled, byState: d };
    } : undefined,
    claimed: () => outbound?.scheduler.stats() ?? null,
    // the console dashboard's figures, read the same way as the dashboard reads them
    activity: (opts.local ?? true) ? () => (figures ??= adminServiceFactory(config, store, secrets, () => clock.now())('metrics')).activityFigures() : undefined,
  });
  let figures: ReturnType<ReturnType<typeof adminServiceFactory>> | null = null;
  let box: SecretBox | null = null;
  const secrets = () => (box ??= createSecretBox(loadOrCreateKey(secretsKeyFile(config))));
  // webhook events are written to the store's outbox from every process; sent where the local channel runs
  let dispatcher: Dispatcher | null = null;
  const webhooks = config.webhooks.enabled
    ? createEmitter({ store, clock, logger, registry: metrics.registry, onEnqueued: () => dispatcher?.kick() })
    : undefined;
  if (config.dkim.enabled) loadSigningLibraries(); // before the first message, not during it
  const keyring = config.dkim.enabled
    ? createKeyring({ store, secrets, ttlMs: config.dkim.keyCacheSeconds * 1000, now: () => clock.now(), logger })
    : null;
  // What another node (or the CLI) changed: caches follow at once (PostgreSQL: NOTIFY). The login
  // cache is also checked against the mailbox's credential version, read on every login.
  const unwatch = store.watch((topic) => {
    if (topic === 'mailboxes') { loginCache.clear(); dovecotCache.clear(); }
    if (topic === 'dkim') keyring?.clear();
  });
  let outbound: Outbound | null = null;
  const enqueuer = createEnqueuer({ queue: store.queue, spool, onCommitted: () => (outbound ? outbound.kick() : opts.onQueued?.()) });
  const intake = createIntake({
    spool, enqueuer, clock,
    hostname: config.hostname,
    bareLineEndings: config.smtp.bareLineEndings,
    maxLineLength: config.smtp.maxLineLength,
    maxMessageSize: config.smtp.maxMessageSize,
    // PostgreSQL: every node must read every body, so bodies live in the queue rows, never in
    // this node's spool
    inlineBodyMaxBytes: config.store.kind === 'postgres' ? config.smtp.maxMessageSize : config.queue.inlineBodyMaxBytes,
    dkimKeys: keyring ? (domain) => keyring.keysFor(domain) : undefined,
    scanner: config.scan.enabled ? createScanner(config.scan, { logger, clock, metrics }) : undefined,
    onSpam: (address) => void containment.observeSpam(address),
    onSiteSpam: (siteId) => void containment.observeSiteSpam(siteId),
    metrics,
    track: config.tracking.enabled,
    webhooks,
  });
  const containment = createContainment({
    store, clock, logger, config: config.containment,
    notify: (m, reason) => (webhooks?.senderHeld(m, reason), notifyHold(config, { store, intake, clock, logger }, m, reason)),
    metrics,
  });
  const suppressionOf = (customerId: number, address: string) => store.suppressions.find(customerId, address, clock.now());
  const relay = {
    isHostedDomain: async (d: string) => (await store.domains.get(d)) !== null,
    hasInboundRoute: async (d: string) => (await store.routes.get(d)) !== null,
  };

  // one for every listener of the process: a login on 587 reserves slots on 465 too
  const knownNetworks = createKnownNetworks({ keepMs: config.auth.knownIpDays * 86_400_000 });
  const listeners = config.listeners.map((l) =>
    createListener(l, {
      hostname: config.hostname, tls, authenticator, relay, intake, logger, clock, gateFor: opts.gateFor, knownNetworks,
      maxMessageSize: config.smtp.maxMessageSize,
      maxRecipients: config.smtp.maxRecipients,
      grantsFor: (mailboxId: number) => store.grants.list(mailboxId),
      failureDelayMs: config.auth.failureDelayMs,
      containment,
      onSenderHold: config.containment.onHold,
      heldCap: config.containment.maxHeldPerMailbox,
      metrics,
      suppressionOf,
    }),
  );
  const injector = createInjector({
    intake, clock, logger, containment,
    maxRecipients: config.smtp.maxRecipients, heldCap: config.containment.maxHeldPerMailbox, onSenderHold: config.containment.onHold,
    metrics, suppressionOf,
  });
  let local: LocalServers | null = null;
  let pickup: Pickup | null = null;
  let dkimTimer: NodeJS.Timeout | null = null;
  let pruneTimer: NodeJS.Timeout | null = null;
  let pruning: Promise<void> = Promise.resolve();
  let stopPrune: (() => void) | null = null;
  let blocklists: BlocklistWatchRun | null = null;
  const close = async () => {
    blocklists?.stop();
    if (dkimTimer) clearInterval(dkimTimer);
    if (pruneTimer) clearInterval(pruneTimer);
    stopPrune?.();
    await pruning;
    await local?.close();
    await pickup?.close();
    await Promise.all(listeners.map((l) => l.close()));
    await enqueuer.drain();
    await outbound?.close();
    await dispatcher?.stop();
    await webhooks?.close();
    tls.close();
    dovecotAuth?.close();
    unwatch();
    await store.close();
  };
  try {
    for (const l of listeners) {
      const addr = await l.listen();
      logger.info({ evt: 'listening', listener: l.name, role: l.config.role, address: addr.address, port: addr.port }, 'listening');
    }
    if (opts.delivery ?? config.delivery.enabled) {
      outbound = createOutbound(config, { store, spool, intake, clock, logger, secrets, metrics, webhooks });
      await outbound.scheduler.start();
    }
    if (opts.local ?? true) {
      const paths = localPaths(config);
      const clientHost = config.clients.host ?? config.hostname;
      local = await startLocalServers({
        web: config.web.enabled ? config.web : null, socketPath: paths.socket, tls, logger,
        ops: serverOps({
          registry: metrics.registry, of: opts.metricsOf, metricsAllow: config.web.metricsAllow, store, listeners,
          heldResults: () => outbound?.scheduler.held() ?? 0,
          disk: diskReadiness({ dir: config.dataDir, minFreeBytes: config.queue.minFreeMegabytes * 1024 * 1024 }),
        }),
        clientSetup: {
          isHosted: relay.isHostedDomain,
          // the ports the listeners actually bound, and the web port (known once it listens)
          settings: () => ({
            provider: config.clients.provider ?? config.hostname,
            webHost: config.clients.webHost ?? clientHost,
            webPort: local?.webAddress()?.port ?? config.web.port,
            outgoing: outgoingOf(clientHost, listeners.map((l) => ({ role: l.config.role, port: l.address()?.port ?? l.config.port }))),
            incoming: config.clients.incoming,
          }),
        },
        admin: config.adminApi.enabled ? {
          store, clock, logger, lockout: lockoutPolicyOf(config), failureDelayMs: config.auth.failureDelayMs, metrics,
          maxBodyBytes: config.adminApi.maxBodyBytes, removeBody: (relPath) => spool.remove(relPath),
          service: adminServiceFactory(config, store, secrets, () => clock.now()),
        } : undefined,
        console: config.console.enabled ? {
          store, clock, logger, authenticator, lockout: lockoutPolicyOf(config), failureDelayMs: config.auth.failureDelayMs, metrics,
          removeBody: (relPath) => spool.remove(relPath), registry: metrics.registry,
          sessions: { sessionMs: config.console.sessionHours * 3_600_000, idleMs: config.console.idleMinutes * 60_000 },
          service: adminServiceFactory(config, store, secrets, () => clock.now()),
          secrets, twoFactor: config.console.twoFactor,
        } : undefined,
        api: {
          injector, store, authenticator, lockout: lockoutPolicyOf(config), clock, logger,
          maxMessageSize: config.smtp.maxMessageSize, failureDelayMs: config.auth.failureDelayMs, metrics,
        },
      });
      const rejectedDir = `${paths.dropDir}.rejected`;
      prepareDropDir(paths.dropDir, rejectedDir);
      pickup = createPickup({
        dir: paths.dropDir, rejectedDir, injector, intake, store, clock, logger,
        retryMs: config.local.dropRetryHours * 3_600_000, hostname: config.hostname,
        bounceFrom: config.bounce.from ?? `MAILER-DAEMON@${config.hostname}`, postmaster: config.bounce.postmaster ?? null,
        userOf: passwdLookup(), maxBytes: config.smtp.maxMessageSize + 1024 * 1024, metrics,
      });
      const taken = await pickup.scan();
      if (taken) logger.info({ evt: 'maildrop', accepted: taken }, 'drop folder taken in at start-up');
      pickup.start(config.local.dropScanSeconds * 1000);
      if (config.webhooks.enabled) {
        dispatcher = createDispatcher({
          store, secrets, clock, logger, config: config.webhooks, owner: config.nodeName, registry: metrics.registry, guard: endpointGuardOf(config),
        });
        await dispatcher.start();
      }
      // expired suppressions go, hourly, in the one process that serves the local channel
      stopPrune = startSuppressionPrune({ store, clock, logger });
      // our own egress addresses on DNS blocklists, in the same one process
      blocklists = startBlocklistWatch(config, { store, intake, clock, logger, registry: metrics.registry, checked: () => outbound?.listingsChanged() });
      if (config.dkim.enabled) {
        // the timed steps of key rotation, in the one process that serves the local channel
        const lookup = createDnsLookup({ servers: config.dns.servers, timeoutMs: config.dns.timeoutMs, tries: config.dns.tries });
        const dkim = createDkimService({ store, secrets, now: () => clock.now(), logger, policy: config.dkim, lookup: () => lookup });
        const tick = () => dkim.tick().then((d) => { if (d.activated.length || d.retired.length) keyring?.clear(); }, (err: Error) => logger.error({ evt: 'dkim', err: err.message }, 'DKIM rotation check failed'));
        void tick();
        dkimTimer = setInterval(tick, config.dkim.checkMinutes * 60_000);
        dkimTimer.unref();
      }
      // message tracking's retention, in the same one process (also when tracking is off: old rows go)
      const t = config.tracking;
      let busy = false; // a slow prune is not started twice
      const prune = () => {
        if (busy) return;
        busy = true;
        pruning = store.tracking.prune({ olderThan: clock.now() - t.retentionDays * 86_400_000, maxBytes: t.maxBytes }).then(
          (r) => { if (r.messages) logger.info({ evt: 'tracking', pruned: r.messages, bytes: r.bytes }, 'message tracking pruned'); },
          (err: Error) => logger.error({ evt: 'tracking', err: err.message }, 'message tracking prune failed'),
        ).then(() => {
          // console sessions past their end or idle (a request also ends them; this frees the rows)
          const now = clock.now();
          return store.consoleSessions.prune(now, now - config.console.idleMinutes * 60_000).then(
            (n) => { if (n) logger.debug({ evt: 'console', pruned: n }, 'old console sessions deleted'); },
            (err: Error) => logger.error({ evt: 'console', err: err.message }, 'console session prune failed'),
          );
        }).finally(() => { busy = false; });
      };
      void prune();
      pruneTimer = setInterval(prune, t.pruneMinutes * 60_000);
      pruneTimer.unref();
    }
  } catch (err) {
    await close();
    throw err;
  }
  return { listeners, store, get outbound() { return outbound; }, get blocklists() { return blocklists; }, local, pickup, metrics, close };
}

/** One process: prepare the data folder, then listen (tests, and `workers: 1`). */
export async function startServer(config: Config, opts: StartOptions): Promise<RunningServer> {
  return startListeners(await prepareDataDir(config, opts.logger), opts);
}
