/**
 * The parts every serving process builds from a configuration: store, spool, TLS, credentials
 * (with the Dovecot client and the login caches), metrics, webhook events, the DKIM keyring,
 * the enqueuer, intake, containment, the SMTP listeners and the injector. Nothing is started
 * here: server.ts lists what starts, in which order (lifecycle.ts).
 */
import path from 'node:path';
import type { Logger } from 'pino';
import { secretsKeyFile, type Config } from '../config/index.ts';
import { networkMatcher, type Clock } from '../core/index.ts';
import { openStore, type Store } from '../store/index.ts';
import { createSpool, type Spool } from '../spool/index.ts';
import { createEnqueuer, type Enqueuer } from '../queue/index.ts';
import { createIntake, type Intake } from '../intake/index.ts';
import {
  createAuthenticator,
  createDovecotAuth,
  createLoginCache,
  createSecretBox,
  loadOrCreateKey,
  type Authenticator,
  type LockoutPolicy,
  type SecretBox,
} from '../credentials/index.ts';
import { createKnownNetworks } from '../limits/index.ts';
import { createContainment, type Containment } from '../containment/index.ts';
import { createListener, createTlsRegistry, type Listener, type ListenerDeps, type TlsRegistry } from '../listener/index.ts';
import { createKeyring, type Keyring } from '../dkim/index.ts';
import { createScanner } from '../scan/index.ts';
import { createMetrics, type ClaimedStats, type Metrics } from '../observability/index.ts';
import { createEmitter, type WebhookEmitter } from '../webhooks/index.ts';
import { createInjector, type Injector } from '../inject/index.ts';
import { createHoldNotifier } from '../bounce/index.ts';
import { adminServiceFactory } from '../admin/api/index.ts';

export function lockoutPolicyOf(config: Config): LockoutPolicy {
  const a = config.auth;
  return {
    maxFailures: a.maxFailures,
    lockMs: a.lockMinutes * 60_000,
    knownIpMs: a.knownIpDays * 86_400_000,
    ipFailures: a.ipFailures,
    ipWindowMs: a.ipWindowMinutes * 60_000,
    ipBanMs: a.ipBanMinutes * 60_000,
    knownMaxFailures: a.knownIpMaxFailures,
    sprayAccounts: a.sprayAccounts,
    isTrusted: networkMatcher(a.trustedNetworks),
  };
}

/** What the core parts need from the rest of the process (set once the parts that answer exist). */
export interface CoreHooks {
  /** Something was committed to the queue (wake delivery). */
  onCommitted(): void;
  /** The delivery scheduler's stats, where it runs. */
  claimed(): ClaimedStats | null;
  /** A webhook event was written to the outbox (wake the dispatcher). */
  onWebhookEnqueued(): void;
}

export interface Core {
  store: Store;
  spool: Spool;
  tls: TlsRegistry;
  authenticator: Authenticator;
  /** Closes the Dovecot client (when configured). */
  closeDovecot(): void;
  metrics: Metrics;
  secrets: () => SecretBox;
  webhooks: WebhookEmitter | undefined;
  keyring: Keyring | null;
  /** Stops following other nodes' changes. */
  unwatch(): void;
  enqueuer: Enqueuer;
  intake: Intake;
  containment: Containment;
  listeners: Listener[];
  injector: Injector;
  isHostedDomain(domain: string): Promise<boolean>;
}

export interface CoreOptions {
  logger: Logger;
  clock: Clock;
  gateFor?: ListenerDeps['gateFor'];
  /** This process serves /metrics with the queue's gauges and the dashboard figures. */
  countsQueue: boolean;
  hooks: CoreHooks;
}

export async function buildCore(config: Config, o: CoreOptions): Promise<Core> {
  const { logger, clock } = o;
  const store = await openStore(config);
  const spool = await createSpool(path.join(config.dataDir, 'spool'));
  const tls = createTlsRegistry({
    defaultPair: { cert: config.tls.cert!, key: config.tls.key! },
    sni: config.tls.sni,
    reloadIntervalMs: config.tls.reloadIntervalSeconds * 1000,
    logger,
  });
  let box: SecretBox | null = null;
  const secrets = () => (box ??= createSecretBox(loadOrCreateKey(secretsKeyFile(config))));
  let figures: ReturnType<ReturnType<typeof adminServiceFactory>> | null = null;
  const metrics = createMetrics({
    // the process that serves /metrics counts the queue; the scheduler where it runs
    queueDepth: o.countsQueue
      ? async () => {
          const d = await store.queue.depth();
          return { messages: d.messages.queued + d.messages.held + d.messages.cancelled, byState: d };
        }
      : undefined,
    claimed: () => o.hooks.claimed(),
    // the console dashboard's figures, read the same way as the dashboard reads them
    activity: o.countsQueue
      ? () => (figures ??= adminServiceFactory(config, store, secrets, () => clock.now())('metrics')).activityFigures()
      : undefined,
  });
  const auth = credentialsOf(config, { store, clock, metrics });
  // webhook events are written to the store's outbox from every process; sent where the local channel runs
  const webhooks = config.webhooks.enabled
    ? createEmitter({ store, clock, logger, registry: metrics.registry, onEnqueued: () => o.hooks.onWebhookEnqueued() })
    : undefined;
  const keyring = config.dkim.enabled
    ? createKeyring({ store, secrets, ttlMs: config.dkim.keyCacheSeconds * 1000, now: () => clock.now(), logger })
    : null;
  // What another node (or the CLI) changed: caches follow at once (PostgreSQL: NOTIFY). The login
  // cache is also checked against the mailbox's credential version, read on every login.
  const unwatch = store.watch((topic) => {
    if (topic === 'mailboxes') auth.clearCaches();
    if (topic === 'dkim') keyring?.clear();
  });
  const enqueuer = createEnqueuer({ queue: store.queue, spool, onCommitted: () => o.hooks.onCommitted() });
  const intake = createIntake({
    spool,
    enqueuer,
    clock,
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
  const notifyHold = createHoldNotifier({
    hostname: config.hostname,
    from: config.bounce.from ?? `MAILER-DAEMON@${config.hostname}`,
    postmaster: config.bounce.postmaster ?? null,
    contactOf: async (name) => (await store.customers.get(name))?.contact ?? null,
    intake,
    now: () => clock.now(),
    logger,
  });
  const containment = createContainment({
    store,
    clock,
    logger,
    config: config.containment,
    notify: (m, reason) => (webhooks?.senderHeld(m, reason), notifyHold(m, reason)),
    metrics,
  });
  const suppressionOf = (customerId: number, address: string) => store.suppressions.find(customerId, address, clock.now());
  const isHostedDomain = async (d: string) => (await store.domains.get(d)) !== null;
  const relay = { isHostedDomain, hasInboundRoute: async (d: string) => (await store.routes.get(d)) !== null };
  // one for every listener of the process: a login on 587 reserves slots on 465 too
  const knownNetworks = createKnownNetworks({ keepMs: config.auth.knownIpDays * 86_400_000 });
  const listeners = config.listeners.map((l) =>
    createListener(l, {
      hostname: config.hostname,
      tls,
      authenticator: auth.authenticator,
      relay,
      intake,
      logger,
      clock,
      gateFor: o.gateFor,
      knownNetworks,
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
    intake,
    clock,
    logger,
    containment,
    maxRecipients: config.smtp.maxRecipients,
    heldCap: config.containment.maxHeldPerMailbox,
    onSenderHold: config.containment.onHold,
    metrics,
    suppressionOf,
  });
  return {
    store,
    spool,
    tls,
    authenticator: auth.authenticator,
    closeDovecot: auth.close,
    metrics,
    secrets,
    webhooks,
    keyring,
    unwatch,
    enqueuer,
    intake,
    containment,
    listeners,
    injector,
    isHostedDomain,
  };
}

/** The authenticator with its login caches and, when configured, Dovecot's auth service. */
function credentialsOf(config: Config, d: { store: Store; clock: Clock; metrics: Metrics }) {
  const { store, clock, metrics } = d;
  const loginCache = createLoginCache({ ttlMs: config.auth.cacheTtlSeconds * 1000, maxEntries: config.auth.cacheMaxEntries, clock });
  const dovecotConfig = config.auth.dovecot;
  const dovecotAuth = dovecotConfig
    ? createDovecotAuth({
        socket: dovecotConfig.socket,
        timeoutMs: dovecotConfig.timeoutMs,
        observe: (result, seconds) => {
          metrics.dovecotRequests.inc({ result });
          if (result !== 'error') metrics.dovecotSeconds.observe(seconds);
        },
      })
    : null;
  const dovecotCache = createLoginCache({
    ttlMs: (dovecotConfig?.cacheSeconds ?? 0) * 1000,
    maxEntries: config.auth.cacheMaxEntries,
    clock,
  });
  const authenticator = createAuthenticator({
    mailboxes: store.mailboxes,
    cache: loginCache,
    guard: store.authGuard,
    policy: lockoutPolicyOf(config),
    clock,
    appPasswords: store.appPasswords,
    dovecot: dovecotAuth ? { auth: dovecotAuth, cache: dovecotCache, domains: store.domains, audit: store.audit } : undefined,
  });
  return {
    authenticator,
    clearCaches: () => {
      loginCache.clear();
      dovecotCache.clear();
    },
    close: () => dovecotAuth?.close(),
  };
}
