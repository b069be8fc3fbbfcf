/**
 * Change notices between nodes: a repository that changes administrative data sends
 * NOTIFY postern_changes with the topic; every node's listener connection hears it within
 * milliseconds and tells its caches. The listener reconnects when its connection drops (and then
 * reports every topic changed, since notices sent meanwhile are lost).
 */
import pg from 'pg';
import type { ChangeTopic } from '../types.ts';
import { connectionConfig, type PoolOptions, type Queryable } from './db.ts';

export const CHANNEL = 'postern_changes';
const TOPICS: ChangeTopic[] = ['mailboxes', 'dkim', 'sites', 'routes', 'limits', 'bans'];

export interface Notifier {
  /** Sends a change notice (after the change committed); never fails the caller. */
  (topic: ChangeTopic): void;
  /** Waits until every notice sent so far has gone out (before the pool closes: a CLI command's last change). */
  flush(): Promise<void>;
}

export function notifier(db: Queryable, schema: string | undefined): Notifier {
  // nodes of another schema (another test run, another installation) must not hear ours
  const prefix = schema ? `${schema}:` : '';
  const inFlight = new Set<Promise<unknown>>();
  const send = (topic: ChangeTopic) => {
    const p = db.query('SELECT pg_notify($1, $2)', [CHANNEL, prefix + topic]).catch(() => undefined);
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  };
  return Object.assign(send, {
    flush: async () => {
      await Promise.all([...inFlight]);
    },
  });
}

export interface ChangeFeed {
  watch(fn: (topic: ChangeTopic) => void): () => void;
  close(): Promise<void>;
}

export function createChangeFeed(o: PoolOptions, opts: { retryMs?: number } = {}): ChangeFeed {
  const fns = new Set<(topic: ChangeTopic) => void>();
  const prefix = o.schema ? `${o.schema}:` : '';
  let client: pg.Client | null = null;
  let closed = false;
  let timer: NodeJS.Timeout | null = null;
  let starting: Promise<void> | null = null;

  const emit = (topic: ChangeTopic) => {
    for (const fn of fns) {
      try {
        fn(topic);
      } catch {
        /* a listener's mistake is its own */
      }
    }
  };
  const retry = () => {
    if (closed || timer) return;
    timer = setTimeout(() => {
      timer = null;
      void start();
    }, opts.retryMs ?? 1000);
    timer.unref();
  };
  let connectedBefore = false;
  let ping: NodeJS.Timeout | null = null;
  const start = (): Promise<void> =>
    (starting ??= (async () => {
      const c = new pg.Client(connectionConfig({ ...o, applicationName: `postern-changes${o.schema ? `:${o.schema}` : ''}` }));
      c.on('notification', (n) => {
        if (!n.payload?.startsWith(prefix)) return;
        const topic = n.payload.slice(prefix.length) as ChangeTopic;
        if (TOPICS.includes(topic)) emit(topic);
      });
      c.on('error', () => undefined);
      c.on('end', () => {
        if (client === c) client = null;
        if (ping) {
          clearInterval(ping);
          ping = null;
        }
        if (!closed) retry();
      });
      try {
        await c.connect();
        await c.query(`LISTEN ${CHANNEL}`);
        if (closed) {
          await c.end();
          return;
        }
        client = c;
        // the socket must not keep a CLI command's process alive
        (c as unknown as { connection?: { stream?: { unref?: () => void } } }).connection?.stream?.unref?.();
        // notices sent while we were away are lost: once listening again, everything counts as changed
        if (connectedBefore) for (const t of TOPICS) emit(t);
        connectedBefore = true;
        // a connection that died silently (no FIN: a firewall, a NAT) is found within a minute
        const drop = () => (c as unknown as { connection?: { stream?: { destroy?: () => void } } }).connection?.stream?.destroy?.();
        ping = setInterval(() => {
          const silent = setTimeout(drop, 10_000);
          silent.unref();
          c.query('SELECT 1').then(() => clearTimeout(silent), drop);
        }, 30_000);
        ping.unref();
      } catch {
        await c.end().catch(() => undefined);
        retry();
      }
    })().finally(() => {
      starting = null;
    }));

  return {
    watch(fn) {
      fns.add(fn);
      if (!client && !starting && !timer) void start();
      return () => {
        fns.delete(fn);
      };
    },
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      if (ping) clearInterval(ping);
      await starting?.catch(() => undefined);
      const c = client;
      client = null;
      await c?.end().catch(() => undefined);
    },
  };
}
