/**
 * Outgoing delivery wired from a configuration: delivery/ (routes, smarthost, MX, MTA-STS,
 * DANE, egress pools, the SMTP client with connection reuse) as the runner's Deliverer, bounce/
 * as its Notifier (notices queued back through intake with the null sender), queue/'s runner
 * deciding each job, the scheduler claiming due recipients, and suppression/ taking the hard
 * bounces. Used by server.ts in the process that delivers (processes.ts).
 */
import path from 'node:path';
import { Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { Config } from '../config/index.ts';
import { newQueueId, parseHostPort, type Clock } from '../core/index.ts';
import type { Store } from '../store/index.ts';
import type { DeliveryJob } from '../core/index.ts';
import type { Spool } from '../spool/index.ts';
import type { Intake } from '../intake/index.ts';
import { createRunner, createScheduler, retryPolicyOf, type Scheduler } from '../queue/index.ts';
import {
  createDeliverer,
  createMxResolver,
  createMtaSts,
  createConnectionPool,
  createEgressPools,
  createDane,
  createSecureDns,
  daneStatusOf,
  poolOf,
  type Deliverer,
  type NextHop,
} from '../delivery/index.ts';
import { createNotifier, noticeRequest } from '../bounce/index.ts';
import type { SecretBox } from '../credentials/index.ts';
import type { Metrics } from '../observability/index.ts';
import type { WebhookEmitter } from '../webhooks/index.ts';
import { createBounceSuppressor } from '../suppression/index.ts';
import { createListedPools, type ListedPools } from '../reputation/index.ts';

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

type Body = (job: DeliveryJob) => Promise<() => NodeJS.ReadableStream>;

/** The message as it goes out: its DKIM-Signature fields (made at intake) on top of the body. */
function bodyOf(store: Store, spool: Spool): Body {
  return async (job) => {
    const path = job.message.bodyPath;
    const top = job.message.topHeaders ? Buffer.from(job.message.topHeaders, 'latin1') : null;
    if (path) return top ? () => Readable.from(prepend(top, spool.open(path))) : () => spool.open(path);
    const inline = await store.queue.inlineBody(job.message.id);
    // one buffer, so the signature and the body leave in one write
    if (inline) return () => Readable.from([top ? Buffer.concat([top, inline]) : inline]);
    return () =>
      new Readable({
        read() {
          this.destroy(new Error(`message ${job.message.id} has no body (deleted?)`));
        },
      });
  };
}

function delivererOf(
  config: Config,
  deps: OutboundDeps,
  o: { body: Body; pool: ReturnType<typeof createConnectionPool>; listed: ListedPools; logger: Logger },
): Deliverer {
  const d = config.delivery;
  const { store, secrets } = deps;
  const { logger } = o;
  const dane = daneStatusOf(config);
  logger.info({ evt: 'dane', on: dane.on }, dane.why);
  return createDeliverer({
    hostname: config.hostname,
    resolver: createMxResolver({
      servers: config.dns.servers,
      timeoutMs: config.dns.timeoutMs,
      tries: config.dns.tries,
      allowLoopback: d.allowLoopback,
      allowPrivate: d.allowPrivate,
    }),
    async routeFor(domain) {
      const r = await store.routes.get(domain);
      if (!r) return null;
      const auth = r.authUser && r.authSecret ? { user: r.authUser, pass: secrets().open(r.authSecret) } : null;
      return { host: r.host, port: r.port, tls: r.tls, auth };
    },
    smarthost: d.smarthost ? smarthostOf(d.smarthost, d.smarthostTls) : null,
    mtaSts: d.mtaSts
      ? createMtaSts({
          dnsServers: config.dns.servers,
          onError: (domain, err) => logger.warn({ evt: 'mta-sts', domain, err: err.message }, 'MTA-STS policy lookup failed'),
        })
      : null,
    pool: o.pool,
    mxPort: d.mxPort,
    body: o.body,
    timeouts: {
      connectMs: d.connectTimeoutSeconds * 1000,
      greetingMs: d.greetingTimeoutSeconds * 1000,
      commandMs: d.commandTimeoutSeconds * 1000,
      dataMs: d.dataTimeoutSeconds * 1000,
    },
    logger,
    metrics: deps.metrics,
    dane: dane.on
      ? {
          lookup: createDane(createSecureDns({ servers: config.dns.servers, timeoutMs: config.dns.timeoutMs, tries: config.dns.tries })),
          overrides: d.daneDomains,
        }
      : undefined,
    egress: Object.keys(d.pools).length
      ? {
          pools: createEgressPools(d.pools),
          // a listed pool with a fallback sends from the fallback until it is delisted
          async poolOf(job) {
            const name = await poolOf(store, job, d.defaultPool ?? null);
            return name === null ? null : o.listed.effective(name);
          },
        }
      : undefined,
  });
}

export function createOutbound(config: Config, deps: OutboundDeps): Outbound {
  const d = config.delivery;
  const { store, spool, clock } = deps;
  const logger = deps.logger.child({ part: 'delivery' });
  const policy = retryPolicyOf(config);
  const pool = createConnectionPool({
    maxMessages: d.reuseMaxMessages,
    idleMs: d.reuseIdleSeconds * 1000,
    maxIdlePerKey: d.perDestinationConcurrency,
  });
  const body = bodyOf(store, spool);
  const listed = createListedPools(store, Object.fromEntries(Object.entries(d.pools).map(([n, p]) => [n, p.fallback])), () => clock.now());
  const deliverer = delivererOf(config, deps, { body, pool, listed, logger });

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
      await deps.intake.receive(
        n.stream,
        noticeRequest({
          queueId,
          to: [n.to],
          customerId: n.customerId,
          listener: n.listener,
          hostname: config.hostname,
          maxSize: config.smtp.maxMessageSize + 1024 * 1024,
        }),
      );
      scheduler.kick();
      return queueId;
    },
    logger,
    metrics: deps.metrics,
  });

  const run = createRunner({
    queue: store.queue,
    deliverer,
    notifier,
    policy,
    clock,
    logger,
    metrics: deps.metrics,
    onResults: deps.webhooks ? (job, results) => deps.webhooks!.deliveryResults(job, results) : undefined,
  });

  scheduler = createScheduler({
    queue: store.queue,
    clock,
    logger,
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

async function* prepend(top: Buffer, rest: NodeJS.ReadableStream): AsyncGenerator<Buffer> {
  yield top;
  for await (const chunk of rest) yield chunk as Buffer;
}

function smarthostOf(value: string, tls: NextHop['tls']): NextHop {
  const hp = parseHostPort(value, 25);
  if ('error' in hp) throw new Error(`delivery.smarthost: ${hp.error}`);
  return { ...hp, tls };
}
