/**
 * Connection reuse: healthy SMTP connections (after a completed transaction, or after RSET
 * when the last one ended in refusals) wait here, per remote host, port,
 * TLS mode and EHLO name, for the next message to the same host. Bounded by messages per
 * connection, idle time and idle connections per host; a connection the remote closes while
 * idle is dropped. Never opens connections itself (attempt.ts does).
 */
import type SMTPConnection from 'nodemailer/lib/smtp-connection/index.js';

export interface PooledConnection {
  conn: SMTPConnection;
  key: string;
  /** Messages sent on it so far. */
  uses: number;
  closed: boolean;
}

export interface ConnectionPool {
  /** An idle open connection for this key, or null. */
  take(key: string): PooledConnection | null;
  /** Back to the pool after a completed transaction and a successful RSET (or closed when full). */
  give(pc: PooledConnection): void;
  idle(): number;
  close(): void;
}

export interface PoolOptions {
  maxMessages: number;
  idleMs: number;
  maxIdlePerKey?: number;
}

interface Idle {
  pc: PooledConnection;
  timer: NodeJS.Timeout;
}

export function quitQuietly(conn: SMTPConnection): void {
  try {
    conn.quit();
    setTimeout(() => {
      try {
        conn.close();
      } catch {
        /* closed */
      }
    }, 1000).unref();
  } catch {
    /* already closed */
  }
}

export function createConnectionPool(opts: PoolOptions): ConnectionPool {
  const maxIdle = opts.maxIdlePerKey ?? 8;
  const idle = new Map<string, Idle[]>();
  let count = 0;

  const drop = (key: string, entry: Idle) => {
    const list = idle.get(key);
    const i = list?.indexOf(entry) ?? -1;
    if (i < 0) return false;
    list!.splice(i, 1);
    if (!list!.length) idle.delete(key);
    clearTimeout(entry.timer);
    count--;
    return true;
  };

  return {
    take(key) {
      const list = idle.get(key);
      while (list?.length) {
        const entry = list.pop()!;
        if (!list.length) idle.delete(key);
        clearTimeout(entry.timer);
        count--;
        if (!entry.pc.closed) return entry.pc;
      }
      return null;
    },
    give(pc) {
      const list = idle.get(pc.key) ?? [];
      if (pc.closed || pc.uses >= opts.maxMessages || opts.idleMs <= 0 || list.length >= maxIdle) {
        if (!pc.closed) quitQuietly(pc.conn);
        return;
      }
      const entry: Idle = {
        pc,
        timer: setTimeout(() => {
          if (drop(pc.key, entry)) quitQuietly(pc.conn);
        }, opts.idleMs),
      };
      entry.timer.unref();
      list.push(entry);
      idle.set(pc.key, list);
      count++;
    },
    idle: () => count,
    close() {
      for (const [key, list] of [...idle]) for (const entry of [...list]) if (drop(key, entry)) quitQuietly(entry.pc.conn);
    },
  };
}
