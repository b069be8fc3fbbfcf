/**
 * Metrics in Prometheus's text format (prom-client), one registry per process. Names and label
 * values are stable and documented in docs/operations.md ("Metrics"); labels have bounded
 * values only (never an address, a login or a customer name; the one exception is
 * postern_top_sender_messages, at most ten logins at a time). Gauges that describe the queue
 * and the operator's dashboard figures are computed when scraped, from callbacks the composition root gives; a callback that fails
 * or is slow makes its gauges unknown in that scrape (NaN, or no samples); it never fails the scrape.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { SmtpError } from '../core/index.ts';

/** How a message came in: the SMTP listeners, the send API, the sendmail socket, the drop folder, our own notices. */
export type Channel = 'smtp' | 'api' | 'sendmail' | 'maildrop' | 'dsn' | 'notice';

/**
 * Why a message (or a MAIL FROM / RCPT TO command) was refused: sender (MAIL FROM or a header
 * From not allowed), recipient (syntax, too many), relay (relay access denied), limit, hold
 * (its mailbox or site is on hold), held-full, size, data (bare line ends, long lines, not a
 * message), content (the scanner), unavailable (the scanner is down), suppressed (a recipient on the
 * suppression list), suspended (its customer account is suspended), error (our own trouble: 4.3.0).
 */
export type RefusalReason =
  | 'sender'
  | 'recipient'
  | 'relay'
  | 'limit'
  | 'hold'
  | 'held-full'
  | 'size'
  | 'data'
  | 'content'
  | 'unavailable'
  | 'suppressed'
  | 'suspended'
  | 'error';

/** Result of a login: success, failure (unknown login, wrong password or token), locked, suspended, banned (API: the address is banned), error (store). */
export type AuthOutcome = 'success' | 'failure' | 'locked' | 'suspended' | 'banned' | 'error';

/** What is in the queue, as cheap counts: `messages` in any state; by state where the store can tell. */
export interface QueueDepth {
  messages: number;
  byState?: {
    messages?: Partial<Record<'queued' | 'held' | 'cancelled', number>>;
    recipients?: Partial<Record<'queued' | 'deferred', number>>;
  };
}

/** The operator's dashboard figures (admin/figures.ts), read at scrape time. */
export interface ActivityCounts {
  heldMailboxes: number;
  heldSites: number;
  bansActive: number;
  lastHour: {
    /** Tracked events since one hour ago, by type. */
    events: Partial<Record<string, number>>;
    /** The top senders (a login, or site:NAME) by messages accepted since one hour ago. */
    topSenders: { sender: string; messages: number }[];
  };
}

/** The event types postern_tracked_events_last_hour always shows (0 when none), as the dashboard does. */
export const DELIVERY_EVENT_TYPES = ['accepted', 'delivered', 'attempt-deferred', 'failed', 'bounced', 'held'] as const;

/** The delivery scheduler's recipients in memory (see queue/scheduler stats). */
export interface ClaimedStats {
  inFlight: number;
  buffered: number;
}

export interface MetricsSources {
  /** Called at each scrape (at most once, within SOURCE_TIMEOUT_MS). */
  queueDepth?: () => Promise<QueueDepth>;
  /** The scheduler's stats in the process that delivers; null elsewhere. */
  claimed?: () => ClaimedStats | null;
  /** Called at each scrape (at most once, within SOURCE_TIMEOUT_MS), in the process that serves /metrics. */
  activity?: () => Promise<ActivityCounts>;
}

export interface Metrics {
  registry: Registry;
  /** Messages per scan result: scanned, skipped (too large), failed, bypassed (not scanned: failure policy or breaker). */
  scanMessages: Counter<'result'>;
  /** Scanned messages per action taken: accept, header, hold, defer, reject. */
  scanActions: Counter<'action'>;
  /** 1 while the scanner's circuit breaker is open. */
  scanBreakerOpen: Gauge;
  /** SMTP connections per listener ("submission:587") and result: accepted, banned, per-ip-limit, max-connections, error. */
  connections: Counter<'listener' | 'result'>;
  /** SMTP sessions open now, per listener. */
  connectionsOpen: Gauge<'listener'>;
  /** Logins per channel (smtp, api, sendmail, admin) and result. */
  auth: Counter<'channel' | 'result'>;
  /** Client addresses banned for failed logins. */
  bans: Counter;
  /** Requests to Dovecot's auth service (auth.dovecot): ok, fail (wrong password, unknown user), error (no answer, temporary failure). */
  dovecotRequests: Counter<'result'>;
  dovecotSeconds: Histogram;
  /** Messages accepted (queued or held) per channel. */
  accepted: Counter<'channel'>;
  /** Messages (and MAIL FROM / RCPT TO commands) refused per channel and reason. */
  refused: Counter<'channel' | 'reason'>;
  /** Sending limits a message went over, per level and the limit's action. */
  limitHits: Counter<'level' | 'action'>;
  /** Holds: kind message (reason limit, sender, content), mailbox or site (reason contain). */
  holds: Counter<'kind' | 'reason'>;
  /** Delivery attempts per recipient: outcome (delivered, deferred, failed) and category. */
  deliveryAttempts: Counter<'outcome' | 'category'>;
  /** Seconds one delivery attempt (one job: a message's recipients at one domain) took. */
  deliveryDuration: Histogram;
  /** Seconds from acceptance to delivery, per delivered recipient. */
  deliveryLatency: Histogram;
  /** Delivery status notifications: failure, delay, success queued; dropped (never to the null sender). */
  dsn: Counter<'type'>;
  /** Recipients put on a customer's suppression list after a hard bounce. */
  suppressions: Counter;
  /** Runs of the timed housekeeping jobs (app/housekeeping.ts) by job and result: ok, failed, skipped (the previous run still going). */
  housekeepingRuns: Counter<'job' | 'result'>;
  /** Seconds one housekeeping run took, by job. */
  housekeepingSeconds: Histogram<'job'>;
}

/** A scrape waits at most this long for the store's counts. */
export const SOURCE_TIMEOUT_MS = 2000;

const HOUR = 3600;

export function createMetrics(sources: MetricsSources = {}): Metrics {
  const registry = new Registry();
  const registers = [registry];
  // Aggregated over worker processes (supervisor/): counters, histograms and most gauges add
  // up; the queue's gauges exist only in the process that reads the store.
  const metrics: Metrics = {
    registry,
    scanMessages: new Counter({
      name: 'postern_scan_messages_total',
      help: 'Messages by content-scan result: scanned, skipped (too large), failed, bypassed (not scanned).',
      labelNames: ['result'],
      registers,
    }),
    scanActions: new Counter({
      name: 'postern_scan_actions_total',
      help: 'Scanned messages by the action taken: accept, header, hold, defer, reject.',
      labelNames: ['action'],
      registers,
    }),
    scanBreakerOpen: new Gauge({
      name: 'postern_scan_breaker_open',
      help: '1 while the content scanner is not asked (its circuit breaker is open).',
      registers,
      aggregator: 'max',
    }),
    connections: new Counter({
      name: 'postern_smtp_connections_total',
      help: 'SMTP connections by listener and result: accepted, per-ip-limit, per-network-limit, max-connections, error; and sessions closed by the slot rules: auth-timeout, evicted, command-timeout, data-too-slow.',
      labelNames: ['listener', 'result'],
      registers,
    }),
    connectionsOpen: new Gauge({
      name: 'postern_smtp_connections_open',
      help: 'SMTP sessions open now, by listener.',
      labelNames: ['listener'],
      registers,
    }),
    auth: new Counter({
      name: 'postern_auth_total',
      help: 'Logins by channel (smtp, api, sendmail, admin, console) and result: success, failure, locked, suspended, banned, error.',
      labelNames: ['channel', 'result'],
      registers,
    }),
    bans: new Counter({ name: 'postern_auth_bans_total', help: 'Client addresses banned after too many failed logins.', registers }),
    dovecotRequests: new Counter({
      name: 'postern_dovecot_requests_total',
      help: "Requests to Dovecot's auth service by result: ok, fail (refused), error (no answer, lost connection, temporary failure: the client got 454).",
      labelNames: ['result'],
      registers,
    }),
    dovecotSeconds: new Histogram({
      name: 'postern_dovecot_request_seconds',
      help: 'Seconds Dovecot took to answer an AUTH request (ok or fail).',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    accepted: new Counter({
      name: 'postern_messages_accepted_total',
      help: 'Messages accepted (queued, or held) by channel: smtp, api, sendmail, maildrop, dsn, notice.',
      labelNames: ['channel'],
      registers,
    }),
    refused: new Counter({
      name: 'postern_messages_refused_total',
      help: 'Messages, and MAIL FROM / RCPT TO commands, refused, by channel and reason.',
      labelNames: ['channel', 'reason'],
      registers,
    }),
    limitHits: new Counter({
      name: 'postern_limit_hits_total',
      help: "Sending limits a message went over, by level and the limit's action (defer, reject, hold).",
      labelNames: ['level', 'action'],
      registers,
    }),
    holds: new Counter({
      name: 'postern_holds_total',
      help: 'Holds by kind (message, mailbox, site) and reason (limit, sender, content, contain).',
      labelNames: ['kind', 'reason'],
      registers,
    }),
    deliveryAttempts: new Counter({
      name: 'postern_delivery_attempts_total',
      help: 'Delivery attempts per recipient by outcome (delivered, deferred, failed) and category.',
      labelNames: ['outcome', 'category'],
      registers,
    }),
    deliveryDuration: new Histogram({
      name: 'postern_delivery_duration_seconds',
      help: 'Seconds one delivery attempt took (the recipients of one message at one domain).',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
      registers,
    }),
    deliveryLatency: new Histogram({
      name: 'postern_delivery_latency_seconds',
      help: 'Seconds from acceptance to delivery, per delivered recipient.',
      buckets: [1, 5, 15, 60, 300, 900, HOUR, 4 * HOUR, 12 * HOUR, 24 * HOUR, 48 * HOUR, 120 * HOUR],
      registers,
    }),
    suppressions: new Counter({
      name: 'postern_suppressions_added_total',
      help: "Recipients put on their customer's suppression list after a hard bounce (a repeated bounce counts again).",
      registers,
    }),
    housekeepingRuns: new Counter({
      name: 'postern_housekeeping_runs_total',
      help: 'Runs of the timed housekeeping jobs by job and result: ok, failed, skipped (the previous run was still going).',
      labelNames: ['job', 'result'],
      registers,
    }),
    housekeepingSeconds: new Histogram({
      name: 'postern_housekeeping_duration_seconds',
      help: 'Seconds one run of a housekeeping job took, by job.',
      labelNames: ['job'],
      buckets: [0.01, 0.05, 0.25, 1, 5, 30, 120, 600],
      registers,
    }),
    dsn: new Counter({
      name: 'postern_dsn_total',
      help: 'Delivery status notifications by type: failure, delay, success (queued), dropped (about a null-sender message).',
      labelNames: ['type'],
      registers,
    }),
  };
  if (sources.queueDepth) registerQueueGauges(registers, scrapeOnce(sources.queueDepth));
  if (sources.activity) registerActivityGauges(registers, scrapeOnce(sources.activity));
  registerClaimedGauge(registers, sources.claimed);
  return metrics;
}

/**
 * The queue's gauges, read from the store at scrape time, only in the process that has the
 * source (with several workers: the one serving /metrics). A store that did not answer makes
 * postern_queue_length NaN (unknown, not 0) and leaves out the per-state samples.
 */
function registerQueueGauges(registers: Registry[], depth: () => Promise<QueueDepth | null>): void {
  new Gauge({
    name: 'postern_queue_length',
    help: 'Messages in the queue, in any state (NaN: the store did not answer in time).',
    registers,
    aggregator: 'first',
    async collect() {
      this.set((await depth())?.messages ?? NaN);
    },
  });
  new Gauge({
    name: 'postern_queue_messages',
    help: 'Messages in the queue by state: queued, held, cancelled.',
    labelNames: ['state'],
    registers,
    aggregator: 'first',
    async collect() {
      this.reset();
      for (const [state, n] of Object.entries((await depth())?.byState?.messages ?? {})) this.set({ state }, n);
    },
  });
  new Gauge({
    name: 'postern_queue_recipients',
    help: 'Recipients waiting for delivery by state: queued (never tried), deferred (waiting for a retry).',
    labelNames: ['state'],
    registers,
    aggregator: 'first',
    async collect() {
      this.reset();
      for (const [state, n] of Object.entries((await depth())?.byState?.recipients ?? {})) this.set({ state }, n);
    },
  });
}

/**
 * The dashboard's figures that no counter carries (holds, bans, the last hour's top senders and
 * events), read from the store at scrape time like the queue's. A store that did not answer makes
 * the plain gauges NaN and leaves out the labelled samples.
 */
function registerActivityGauges(registers: Registry[], activity: () => Promise<ActivityCounts | null>): void {
  const plain = (name: string, help: string, of: (a: ActivityCounts) => number) =>
    new Gauge({
      name,
      help,
      registers,
      aggregator: 'first',
      async collect() {
        const a = await activity();
        this.set(a ? of(a) : NaN);
      },
    });
  plain(
    'postern_held_mailboxes',
    'Mailboxes on hold now (suspected compromise; NaN: the store did not answer in time).',
    (a) => a.heldMailboxes,
  );
  plain('postern_held_sites', 'Sites on hold now (NaN: the store did not answer in time).', (a) => a.heldSites);
  plain(
    'postern_bans_active',
    'Client addresses banned now for failed logins (NaN: the store did not answer in time).',
    (a) => a.bansActive,
  );
  new Gauge({
    name: 'postern_top_sender_messages',
    help: 'Messages accepted in the last hour by each of the top 10 senders (label: the login, or site:NAME).',
    labelNames: ['sender'],
    registers,
    aggregator: 'first',
    async collect() {
      this.reset();
      for (const t of (await activity())?.lastHour.topSenders ?? []) this.set({ sender: t.sender }, t.messages);
    },
  });
  new Gauge({
    name: 'postern_tracked_events_last_hour',
    help: 'Message tracking events in the last hour by type (delivered, attempt-deferred, failed, bounced, ...).',
    labelNames: ['type'],
    registers,
    aggregator: 'first',
    async collect() {
      this.reset();
      const a = await activity();
      if (!a) return;
      for (const type of DELIVERY_EVENT_TYPES) this.set({ type }, 0);
      for (const [type, n] of Object.entries(a.lastHour.events)) this.set({ type }, n ?? 0);
    },
  });
}

/** The delivery scheduler's claimed recipients (summed over workers: only one delivers). */
function registerClaimedGauge(registers: Registry[], claimed?: () => ClaimedStats | null): void {
  new Gauge({
    name: 'postern_delivery_recipients_claimed',
    help: 'Recipients the delivery scheduler holds a lease on: running (in an attempt) or waiting (claimed, not started).',
    labelNames: ['state'],
    registers,
    collect() {
      this.reset();
      const s = claimed?.();
      if (!s) return;
      this.set({ state: 'running' }, s.inFlight);
      this.set({ state: 'waiting' }, s.buffered);
    },
  });
}

/**
 * One call of `fn` per scrape, shared by the gauges that use it (a scrape collects every
 * metric at once): a call still in flight is joined, a finished one never reused. Null when
 * it failed or took too long.
 */
function scrapeOnce<T>(fn: (() => Promise<T>) | undefined): () => Promise<T | null> {
  let inFlight: Promise<T | null> | null = null;
  return () => {
    if (!fn) return Promise.resolve(null);
    inFlight ??= withTimeout(fn(), SOURCE_TIMEOUT_MS)
      .catch(() => null)
      .finally(() => {
        inFlight = null;
      });
    return inFlight;
  };
}

export class TimeoutError extends Error {
  constructor(ms: number) {
    super(`no answer within ${ms} ms`);
    this.name = 'TimeoutError';
  }
}

/** Rejects with a TimeoutError when `p` does not settle within `ms`. */
export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TimeoutError(ms)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** The channel of an intake request's listener name ("submission:587", "api", "bounce", ...). */
export function channelOf(listener: string): Channel {
  switch (listener) {
    case 'api':
      return 'api';
    case 'sendmail':
      return 'sendmail';
    case 'maildrop':
      return 'maildrop';
    case 'bounce':
    case 'postmaster':
      return 'dsn';
    case 'notice':
      return 'notice';
    default:
      return 'smtp';
  }
}

/** The metric reason of a refusal (an SmtpError tagged with its reason, or our own failure). */
export function refusalOf(err: unknown): RefusalReason {
  if (!(err instanceof SmtpError)) return 'error';
  switch (err.reason) {
    case 'send-as':
      return 'sender';
    case 'recipient':
      return 'recipient';
    case 'limit':
    case 'hold':
    case 'size':
    case 'data':
    case 'content':
    case 'unavailable':
    case 'suppressed':
    case 'suspended':
      return err.reason;
    default:
      // untagged: a 5xx is the message's fault (line ends, long lines); a 4xx is ours (4.3.0)
      return err.responseCode >= 500 ? 'data' : 'error';
  }
}

/** Counts the results of one delivery attempt: per recipient, and the latency of those delivered. */
export function countDelivery(
  m: Metrics | undefined,
  createdAt: number,
  now: number,
  updates: readonly { state: 'delivered' | 'deferred' | 'failed'; category: string; attempted: boolean }[],
): void {
  if (!m) return;
  for (const u of updates) {
    if (!u.attempted) continue;
    m.deliveryAttempts.inc({ outcome: u.state, category: u.category });
    if (u.state === 'delivered') m.deliveryLatency.observe(Math.max(0, now - createdAt) / 1000);
  }
}
