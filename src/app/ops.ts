/**
 * The operations routes of the web listener: GET /healthz (the process answers) and GET /readyz
 * (the store answers and takes writes, the local disk has room and can be written, the listeners
 * are bound; else 503 saying what is not), answered to
 * anyone since they reveal nothing, and GET /metrics (Prometheus text format) for the client
 * addresses of web.metricsAllow only (loopback by default): anyone else gets 404.
 */
import type { Hono } from 'hono';
import type { Registry } from 'prom-client';
import { checkReadiness, type ReadinessCheck } from '../observability/index.ts';
import type { Store } from '../store/index.ts';
import { networkMatcher } from '../core/index.ts';
import type { Env } from '../inject/index.ts';

export interface OpsDeps {
  /** The exposition text and its content type (this process's metrics, or every worker's). */
  metrics?: () => Promise<{ contentType: string; text: string }>;
  /** IP addresses and CIDR networks that may read /metrics. */
  metricsAllow: readonly string[];
  /** The readiness checks by name (store, listeners). */
  ready: Record<string, ReadinessCheck>;
}

const NO_STORE = { 'cache-control': 'no-store' };

/**
 * What app/server.ts serves: the registry's text (or, with several workers, `of` it: every
 * worker's), and readiness as "the store answers a point lookup, every listener is bound".
 */
export function serverOps(o: {
  registry: Registry;
  of?: (own: Registry) => Promise<string>;
  metricsAllow: readonly string[];
  store: Pick<Store, 'queue'>;
  listeners: readonly { name: string; address(): unknown }[];
  /** Delivery results waiting for the store (the store does not take writes); absent: not delivering. */
  heldResults?: () => number;
  /** The local disk can take a message (null) or not (what is wrong). */
  disk?: ReadinessCheck;
}): OpsDeps {
  return {
    metrics: async () => ({ contentType: o.registry.contentType, text: await (o.of ? o.of(o.registry) : o.registry.metrics()) }),
    metricsAllow: o.metricsAllow,
    ready: {
      store: async () => {
        await o.store.queue.stateOf('readyz');
        return o.heldResults?.() ? 'not taking writes' : null;
      },
      ...(o.disk ? { disk: o.disk } : {}),
      listeners: async () => {
        const down = o.listeners.filter((l) => !l.address()).map((l) => l.name);
        return down.length ? `not listening: ${down.join(', ')}` : null;
      },
    },
  };
}

/** A matcher for IP addresses and CIDR networks (an IPv4-mapped IPv6 client matches its IPv4 entry); no address never matches. */
export function ipAllowList(entries: readonly string[]): (ip: string | undefined) => boolean {
  const matches = networkMatcher(entries);
  return (ip) => Boolean(ip) && matches(ip!);
}

export function mountOps(app: Hono<Env>, o: OpsDeps): void {
  app.get('/healthz', (c) => c.json({ status: 'ok' }, 200, NO_STORE));
  app.get('/readyz', async (c) => {
    const r = await checkReadiness(o.ready);
    return c.json({ status: r.ready ? 'ready' : 'not ready', checks: r.checks }, r.ready ? 200 : 503, NO_STORE);
  });
  const metrics = o.metrics;
  if (!metrics) return;
  const allowed = ipAllowList(o.metricsAllow);
  app.get('/metrics', async (c) => {
    if (!allowed(c.env.incoming.socket.remoteAddress)) return c.notFound();
    const m = await metrics();
    return c.body(m.text, 200, { 'content-type': m.contentType, ...NO_STORE });
  });
}
