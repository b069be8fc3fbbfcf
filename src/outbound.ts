/**
 * Assembles outgoing delivery from a configuration: the scheduler (queue/) claiming due
 * recipients, delivery/ (routes, smarthost, MX, MTA-STS, the SMTP client with connection
 * reuse), the retry decisions, and bounce/ notices queued back through intake with the null
 * sender. Used by server.ts in the process that delivers.
 */
import path from 'node:path';
import { Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { Config } from './config/index.ts';
import { newQueueId, normalizeDomain, parseHostPort, type Clock, NEVER, type DeliveryJob, type RecipientUpdate } from './core/index.ts';
import type { Store } from './store/index.ts';
import type { Spool } from './spool/index.ts';
import type { Intake } from './intake/index.ts';
import { createScheduler, decide, giveBackUpdates, type Scheduler, type Notice, type RetryPolicy } from './queue/index.ts';
import { createDeliverer, createMxResolver, createMtaSts, createConnectionPool, createEgressPools, createDane, createSecureDns, daneStatus, serversOf, type NextHop, type RecipientOutcome } from './delivery/index.ts';
import { buildHoldNotice, createNotifier, type NoticeItem } from './bounce/index.ts';
import type { SecretBox } from './credentials/index.ts';
import { countDelivery, type Metrics } from './observability/index.ts';
import type { WebhookEmitter } from './webhooks/index.ts';
import { createBounceSuppressor } from './suppression.ts';
import { createListedPools } from './reputation/index.ts';

export interface Outbound {
  scheduler: Scheduler;
  /** Something was queued: look for due work now. */
  kick(): void;
  /** The blocklist results changed (this process checked them): read them again. */
  listingsChanged(): void;
  close(graceMs?: number): Promise<void>;
}

export interface OutboundDeps {
  store: Store;
  spool: Spool;
  intake: Intake;
  clock: Clock;
  logger: Logger;
  /** The process's secret box (route passwords), opened on first use. */
  secrets: () => SecretBox;
  metrics?: Metrics;
  /** Delivered, first-deferred and bounced recipients become webhook events. */
  webhooks?: Pick<WebhookEmitter, 'deliveryResults'>;
}

const NOTICE_RETRY_MS = 5 * 60_000;

export function retryPolicyOf(config: Config): RetryPolicy {
  return {
    retryMinutes: config.delivery.retryMinutes,
    expireMs: config.delivery.expireDays * 86_400_000,
    delayWarningMs: config.delivery.delayWarningHours * 3_600_000,
  };
}

export function createOutbound(config: Config, deps: OutboundDeps): Outbound {
  const d = config.delivery;
  const { store, spool, clock, secrets } = deps;
  const logger = deps.logger.child({ part: 'delivery' });
  const policy = retryPolicyOf(config);
  const pool = createConnectionPool({ maxMessages: d.reuseMaxMessages, idleMs: d.reuseIdleSeconds * 1000, maxIdlePerKey: d.perDestinationConcurrency });

  /** The message as it goes out: its DKIM-Signature fields (made at intake) on top of the body. */
  async function body(job: DeliveryJob): Promise<() => NodeJS.ReadableStream> {
    const path = job.message.bodyPath;
    const top = job.message.topHeaders ? Buffer.from(job.message.topHeaders, 'latin1') : null;
    const signed = (open: () => NodeJS.ReadableStream) => (top ? () => Readable.from(prepend(top, open())) : open);
    if (path) return signed(() => spool.open(path));
    const inline = await store.queue.inlineBody(job.message.id);
    if (inline) return signed(() => Readable.from([inline]));
    return () => new Readable({ read() { this.destroy(new Error(`message ${job.message.id} has no body (deleted?)`)); } });
  }

  const dane = daneStatusOf(config);
  const listed = createListedPools(store, Object.fromEntries(Object.entries(d.pools).map(([n, p]) => [n, p.fallback])), () => clock.now());
  logger.info({ evt: 'dane', on: dane.on }, dane.why);

  const deliverer = createDeliverer({
    hostname: config.hostname,
    resolver: createMxResolver({
      servers: config.dns.servers, timeoutMs: config.dns.timeoutMs, tries: config.dns.tries,
      allowLoopback: d.allowLoopback, allowPrivate: d.allowPrivate,
    }),
    async routeFor(domain) {
      const r = await store.routes.get(domain);
      if (!r) return null;
      const auth = r.authUser && r.authSecret ? { user: r.authUser, pass: secrets().open(r.authSecret) } : null;
      return { host: r.host, port: r.port, tls: r.tls, auth };
    },
    smarthost: d.smarthost ? smarthostOf(d.smarthost, d.smarthostTls) : null,
    mtaSts: d.mtaSts
      ? createMtaSts({ dnsServers: config.dns.servers, onError: (domain, err) => logger.warn({ evt: 'mta-sts', domain, err: err.message }, 'MTA-STS policy lookup failed') })
      : null,
    pool,
    mxPort: d.mxPort,
    body,
    timeouts: {
      connectMs: d.connectTimeoutSeconds * 1000, greetingMs: d.greetingTimeoutSeconds * 1000,
      commandMs: d.commandTimeoutSeconds * 1000, dataMs: d.dataTimeoutSeconds * 1000,
    },
    logger,
    metrics: deps.metrics,
    dane: dane.on
      ? { lookup: createDane(createSecureDns({ servers: config.dns.servers, timeoutMs: config.dns.timeoutMs, tries: config.dns.tries })), overrides: d.daneDomains }
      : undefined,
    egress: Object.keys(d.pools).length ? {
      pools: createEgressPools(d.pools),
      // a listed pool with a fallback sends from the fallback until it is delisted
      async poolOf(job) {
        const name = await poolOf(store, job, d.defaultPool ?? null);
        return name === null ? null : listed.effective(name);
      },
    } : undefined,
  });

  let scheduler: Scheduler;
  const notifier = createNotifier({
    hostname: config.hostname,
    from: config.bounce.from ?? `MAILER-DAEMON@${config.hostname}`,
    postmaster: config.bounce.postmaster ?? null,
    expireMs: policy.expireMs,
    now: () => clock.now(),
    original: async (job) => (await body(job))(),
    async submit(n) {
      const queueId = newQueueId(clock.now());
      await deps.intake.receive(n.stream, {
        // no NOTIFY: a failed notice must still be seen (it goes to the postmaster or is logged)
        queueId, sender: '', recipients: [{ address: n.to }], dsnRet: null, dsnEnvid: null,
        customerId: n.customerId, mailboxId: null, authUser: null, clientIp: '127.0.0.1', clientHostname: 'localhost',
        heloName: config.hostname, tls: null, listener: n.listener, maxSize: config.smtp.maxMessageSize + 1024 * 1024, sign: true,
      });
      scheduler.kick();
      return queueId;
    },
    logger,
    metrics: deps.metrics,
  });

  async function run(job: DeliveryJob, ctx: { deadline: number; signal: AbortSignal }): Promise<RecipientUpdate[]> {
    // an operator may have held, cancelled or deleted it since the claim
    const state = await store.queue.stateOf(job.message.id);
    if (state === null) return [];
    // held after the claim: back to waiting for the operator, untried
    if (state === 'held') return giveBackUpdates(job, clock.now(), NEVER, 'held by the postmaster');
    if (state === 'cancelled') job.message.cancelled = true;
    const outcomes = job.message.cancelled
      ? job.recipients.map((r): RecipientOutcome => ({
        address: r.address, outcome: 'failed', category: 'other', reply: '550 5.0.0 deleted from the queue by the postmaster', remoteHost: null,
      }))
      : await deliverer.deliver(job, ctx);
    const now = clock.now();
    const byAddress = new Map(outcomes.map((o) => [o.address, o]));
    const decided = job.recipients.map((r) => {
      const o: RecipientOutcome = byAddress.get(r.address)
        ?? { address: r.address, outcome: 'deferred', category: 'other', reply: 'no outcome', remoteHost: null };
      return { r, o, ...decide(job, r, o, now, policy) };
    });
    for (const kind of ['failure', 'delay', 'success'] as Notice[]) {
      const mine = decided.filter((x) => x.notice === kind);
      if (!mine.length) continue;
      const items: NoticeItem[] = mine.map((x) => ({ address: x.r.address, orcpt: x.r.orcpt, status: x.status, reply: x.update.reply, remoteHost: x.o.remoteHost }));
      try {
        const queueId = await notifier.send(job, kind, items);
        // message tracking records the notice with the result, in the same transaction
        if (queueId) for (const x of mine) x.update.notice = { kind, queueId };
      } catch (err) {
        // keep the recipient (or the warning) for later rather than lose the notice, but not
        // past the message's expiry: then the failure stands and the lost notice is logged
        const keep = now - job.message.createdAt < policy.expireMs;
        logger.error({ evt: 'bounce', qid: job.message.id, notice: kind, err: (err as Error).message, result: keep ? 'retry' : 'lost' },
          keep ? 'could not queue a notice; trying again later' : 'could not queue a notice; giving up (the message expired)');
        for (const x of mine) {
          if (kind === 'failure' && keep) Object.assign(x.update, { state: 'deferred', nextAttemptAt: now + NOTICE_RETRY_MS });
          if (kind === 'delay') x.update.delayNotified = false;
        }
      }
    }
    for (const x of decided) {
      const level = x.update.state === 'delivered' ? 'info' : 'warn';
      logger[level]({
        evt: 'delivery', qid: job.message.id, to: x.r.address, result: x.update.state, category: x.update.category,
        reply: x.update.reply, remote: x.o.remoteHost, attempts: x.r.attempts + 1, delayMs: now - job.message.createdAt,
        ...(x.update.state === 'deferred' ? { next: new Date(x.update.nextAttemptAt).toISOString() } : {}),
      }, `recipient ${x.update.state}`);
    }
    deps.webhooks?.deliveryResults(job, decided.map((x) => ({ recipient: x.r, update: x.update })));
    if (!job.message.cancelled) countDelivery(deps.metrics, job.message.createdAt, now, decided.map((x) => x.update));
    return decided.map((x) => x.update);
  }

  scheduler = createScheduler({
    queue: store.queue, clock, logger,
    owner: config.nodeName,
    leaseMs: d.leaseSeconds * 1000,
    concurrency: d.concurrency,
    perDestination: d.perDestinationConcurrency,
    window: d.window,
    pollMs: d.pollIntervalMs,
    run,
    // results the store does not take are held: in memory, then on the local disk
    holdDir: path.join(config.dataDir, 'held-results'),
    async onFinished(finished) {
      await Promise.all(finished.flatMap((f) => (f.bodyPath ? [spool.remove(f.bodyPath)] : [])));
    },
    // hard bounces: suppressed for the message's customer, after the results are written
    onRecorded: createBounceSuppressor({ store, clock, logger, days: config.suppression.days, metrics: deps.metrics }),
  });

  return {
    scheduler,
    kick: () => scheduler.kick(),
    listingsChanged: () => listed.clear(),
    async close(graceMs = 10_000) {
      await scheduler.stop(graceMs);
      pool.close();
    },
  };
}

/** Whether DANE is in effect with this configuration, and why (or why not). */
export function daneStatusOf(config: Config): ReturnType<typeof daneStatus> {
  return daneStatus({
    enabled: config.delivery.dane, validating: config.dns.validating, servers: serversOf(config.dns.servers), trusted: config.dns.trustedResolvers,
  });
}

/** The egress pool of a job: its site's, sender domain's or customer's assignment, else the default pool. */
export async function poolOf(store: Store, job: DeliveryJob, defaultPool: string | null): Promise<string | null> {
  const { customerId, sender, siteId } = job.message;
  if (customerId === null) return defaultPool;
  const at = sender.lastIndexOf('@');
  const senderDomain = at > 0 ? normalizeDomain(sender.slice(at + 1)) : null;
  return (await store.pools.poolFor({ customerId, senderDomain, siteId: siteId ?? null })) ?? defaultPool;
}

async function* prepend(top: Buffer, rest: NodeJS.ReadableStream): AsyncGenerator<Buffer> {
  yield top;
  for await (const chunk of rest) yield chunk as Buffer;
}

function smarthostOf(value: string, tls: NextHop['tls']): NextHop {
  const hp = parseHostPort(value, 25);
  if ('error' in hp) throw new Error(`delivery.smarthost: ${hp.error}`);
  return { ...hp, tls };
}

/** Queues the notice about a mailbox put on hold to the customer's contact and the postmaster. */
/** What was put on hold: a mailbox, or a site. */
export interface HeldSender { kind: 'mailbox' | 'site'; name: string; customerId: number; customerName: string }

export async function notifyHold(
  config: Config, deps: { store: Store; intake: Intake; clock: Clock; logger: Logger }, held: HeldSender, reason: string,
): Promise<void> {
  const customer = await deps.store.customers.get(held.customerName);
  const to = [...new Set([customer?.contact, config.bounce.postmaster].filter((a): a is string => !!a))];
  const who = held.kind === 'site' ? { site: held.name } : { mailbox: held.name };
  if (!to.length) {
    deps.logger.warn({ evt: 'contain', ...who, result: 'not-notified' }, 'no customer contact and no bounce.postmaster to notify');
    return;
  }
  const now = deps.clock.now();
  const queueId = newQueueId(now);
  const text = buildHoldNotice({
    hostname: config.hostname, from: config.bounce.from ?? `MAILER-DAEMON@${config.hostname}`, to,
    mailbox: held.name, kind: held.kind, customer: held.customerName, reason, now: new Date(now),
  });
  await deps.intake.receive(Readable.from([text]), {
    queueId, sender: '', recipients: to.map((address) => ({ address })), dsnRet: null, dsnEnvid: null,
    customerId: held.customerId, mailboxId: null, authUser: null, clientIp: '127.0.0.1', clientHostname: 'localhost',
    heloName: config.hostname, tls: null, listener: 'notice', sign: true,
  });
  deps.logger.info({ evt: 'contain', ...who, notice: queueId, to }, 'hold notice queued');
}
