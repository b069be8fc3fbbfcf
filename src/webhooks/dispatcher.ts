/**
 * Sends the outbox: claims due deliveries (with a lease, so several nodes share the work),
 * POSTs each event as JSON with its signature, and records the outcome: 2xx delivered; anything
 * else (or no answer within the timeout) tried again later per the schedule (or Retry-After),
 * failed after maxAttempts. Redirects are not followed. Pending deliveries survive a restart: at
 * start the node takes back its own leases, and the outbox is polled. Before every attempt the
 * endpoint's host is resolved and checked (guard.ts) and the request goes to the checked
 * address. The delivery log, which customers read, says only the HTTP status, "refused: not a
 * public address" or "no HTTP response"; why a connection failed goes to the operator's log.
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { registeredCounter } from './counter.ts';
import type { Clock, WebhookAttemptResult, WebhookJob } from '../core/index.ts';
import type { SecretBox } from '../credentials/index.ts';
import type { Store } from '../store/index.ts';
import { backoffMs, retryAfterMs } from './backoff.ts';
import { signatureHeader, SIGNATURE_HEADER } from './signature.ts';
import { urlProblem } from './url.ts';
import { createEndpointGuard, type EndpointGuard } from './guard.ts';
import { postPinned } from './post.ts';

export interface WebhooksConfig {
  allowInsecure: boolean;
  maxAttempts: number;
  retrySeconds: number[];
  timeoutSeconds: number;
  concurrency: number;
  pollIntervalMs: number;
  keepDays: number;
  /** Networks endpoints may reach besides public addresses (webhooks.allowNetworks). */
  allowNetworks: string[];
}

export interface DispatcherDeps {
  store: Store;
  secrets: () => SecretBox;
  clock: Clock;
  logger: Logger;
  config: WebhooksConfig;
  /** This node's name: it owns the leases it takes. */
  owner: string;
  registry?: Registry;
  random?: () => number;
  /** Resolves and checks endpoint hosts; defaults to one on the system resolver with c.allowNetworks. */
  guard?: EndpointGuard;
}

export interface Dispatcher {
  start(): Promise<void>;
  /** Something was recorded: look for due deliveries now. */
  kick(): void;
  stop(graceMs?: number): Promise<void>;
}

/** The request body: the same bytes on every attempt. */
export function webhookBody(j: Pick<WebhookJob, 'eventId' | 'eventType' | 'eventAt' | 'customerName' | 'data'>): string {
  return JSON.stringify({
    id: j.eventId,
    type: j.eventType,
    created: new Date(j.eventAt).toISOString(),
    customer: j.customerName,
    data: j.data,
  });
}

const PRUNE_MS = 3_600_000;

export function createDispatcher(deps: DispatcherDeps): Dispatcher {
  const c = deps.config;
  const logger = deps.logger.child({ part: 'webhooks' });
  const timeoutMs = c.timeoutSeconds * 1000;
  const leaseMs = timeoutMs + 60_000;
  const guard = deps.guard ?? createEndpointGuard({ allowNetworks: c.allowNetworks, dns: { servers: [], timeoutMs: 5000, tries: 2 } });
  const results = registeredCounter(deps.registry, {
    name: 'postern_webhook_deliveries_total',
    help: 'Webhook delivery attempts by result: delivered, retry (failed, tried again later), failed (gave up).',
    labelNames: ['result'],
  });
  const inFlight = new Set<Promise<void>>();
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;
  let claiming = false;
  let again = false;
  let lastPrune = 0;

  type Attempt = Omit<WebhookAttemptResult, 'id' | 'lease' | 'at' | 'state' | 'nextAttemptAt'> & {
    ok: boolean;
    final?: boolean;
    waitMs?: number;
    detail?: string;
  };

  async function attempt(j: WebhookJob): Promise<Attempt> {
    const bad = urlProblem(j.url, c.allowInsecure);
    if (bad) return { ok: false, final: true, status: null, error: bad };
    let secret: string;
    try {
      secret = deps.secrets().open(j.secret);
    } catch (err) {
      return { ok: false, status: null, error: "internal error: the endpoint's secret cannot be opened", detail: (err as Error).message };
    }
    const checked = await guard.check(j.url);
    if (!checked.ok) return { ok: false, status: null, error: checked.reason, detail: checked.detail };
    const body = webhookBody(j);
    const t = Math.floor(deps.clock.now() / 1000);
    try {
      const res = await postPinned(
        j.url,
        checked,
        body,
        {
          'content-type': 'application/json',
          'user-agent': 'Postern-Webhooks/1',
          [SIGNATURE_HEADER]: signatureHeader(secret, body, t),
          'Postern-Event-Id': j.eventId,
          'Postern-Event-Type': j.eventType,
        },
        timeoutMs,
      );
      if (res.status >= 200 && res.status < 300) return { ok: true, status: res.status, error: null };
      const waitMs = res.status === 429 || res.status === 503 ? (retryAfterMs(res.retryAfter, deps.clock.now()) ?? undefined) : undefined;
      return { ok: false, status: res.status, error: `HTTP ${res.status}`, waitMs };
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      const detail = e.code === 'ETIMEDOUT' ? `no answer within ${c.timeoutSeconds} s` : `${e.code ?? ''} ${e.message}`.trim();
      return { ok: false, status: null, error: 'no HTTP response', detail: `${checked.address}: ${detail}` };
    }
  }

  async function send(j: WebhookJob): Promise<void> {
    const r = await attempt(j);
    const at = deps.clock.now();
    const attempts = j.attempts + 1;
    const state = r.ok ? 'delivered' : r.final || attempts >= c.maxAttempts ? 'failed' : 'pending';
    const nextAttemptAt = state === 'pending' ? at + (r.waitMs ?? backoffMs(attempts, c.retrySeconds, deps.random)) : at;
    const written = await deps.store.webhooks.record({
      id: j.id,
      lease: j.lease,
      at,
      state,
      nextAttemptAt,
      status: r.status,
      error: r.error,
    });
    results.inc({ result: state === 'pending' ? 'retry' : state });
    const log = {
      evt: 'webhook',
      endpoint: j.endpointId,
      customer: j.customerName,
      event: j.eventId,
      type: j.eventType,
      attempts,
      status: r.status,
      result: state,
      ...(r.error ? { err: r.error } : {}),
      ...(r.detail ? { detail: r.detail } : {}),
      ...(state === 'pending' ? { next: new Date(nextAttemptAt).toISOString() } : {}),
      ...(written ? {} : { stale: true }),
    };
    if (state === 'delivered') logger.info(log, 'webhook delivered');
    else logger.warn(log, state === 'failed' ? 'webhook failed; giving up' : 'webhook attempt failed; trying again later');
  }

  async function prune(now: number): Promise<void> {
    if (now - lastPrune < PRUNE_MS) return;
    lastPrune = now;
    const n = await deps.store.webhooks.prune(now - c.keepDays * 86_400_000);
    if (n) logger.info({ evt: 'webhook', pruned: n }, 'old webhook deliveries removed from the log');
  }

  async function claim(): Promise<void> {
    if (stopped) return;
    if (claiming) {
      again = true;
      return;
    }
    claiming = true;
    try {
      do {
        again = false;
        const room = c.concurrency - inFlight.size;
        if (room <= 0) break;
        const now = deps.clock.now();
        await prune(now);
        const jobs = await deps.store.webhooks.claim({ owner: deps.owner, now, leaseMs, limit: room });
        for (const j of jobs) {
          const p = send(j)
            .catch((err: Error) =>
              logger.error({ evt: 'webhook', event: j.eventId, err: err.message }, 'webhook outcome could not be recorded'),
            )
            .finally(() => {
              inFlight.delete(p);
              void claim();
            });
          inFlight.add(p);
        }
        if (jobs.length === room) again = true;
      } while (again && !stopped);
    } catch (err) {
      logger.error({ evt: 'webhook', err: (err as Error).message }, 'webhook outbox could not be read');
    } finally {
      claiming = false;
    }
  }

  return {
    async start() {
      const back = await deps.store.webhooks.releaseLeases(deps.owner, deps.clock.now());
      if (back) logger.info({ evt: 'webhook', released: back }, 'webhook deliveries of a previous run taken back');
      timer = setInterval(() => void claim(), c.pollIntervalMs);
      timer.unref();
      void claim();
    },
    kick: () => void claim(),
    async stop(graceMs = 5_000) {
      stopped = true;
      if (timer) clearInterval(timer);
      if (!inFlight.size) return;
      await Promise.race([Promise.allSettled([...inFlight]), new Promise((r) => setTimeout(r, graceMs).unref())]);
    },
  };
}
