/**
 * Egress pools: named sets of local source addresses with their own HELO name (delivery.pools).
 * For one connection a pool gives the source address of the target's family: by a hash of the
 * recipient domain (one destination sees a steady address) or round robin. Each pool may bound
 * its attempts running at once (a gate). Never connects, never reads the store.
 */
import { createHash } from 'node:crypto';
import net from 'node:net';

export interface EgressPoolConfig {
  addresses: string[];
  helo: string;
  select: 'hash' | 'round-robin';
  concurrency?: number;
}

export interface EgressPool {
  name: string;
  helo: string;
  /** The source address for a connection to `target` (an IP) for mail to `domain`; null: the pool has none of that family. */
  sourceFor(target: string, domain: string): string | null;
  /**
   * Waits for a free place under the pool's concurrency; resolves with its release, or null when
   * the signal ended first or the deadline passed while waiting.
   */
  enter(opts?: { signal?: AbortSignal; deadline?: number }): Promise<(() => void) | null>;
  /** Attempts running from this pool now, and waiting for a place. */
  load(): { running: number; waiting: number };
}

export interface EgressPools {
  get(name: string): EgressPool | null;
  names(): string[];
}

/** Which slot of `n` a domain hashes to (stable across processes and restarts). */
export function hashSlot(domain: string, n: number): number {
  const h = createHash('sha256').update(domain.toLowerCase()).digest();
  return h.readUInt32BE(0) % n;
}

export function createEgressPool(name: string, c: EgressPoolConfig): EgressPool {
  const byFamily = {
    4: c.addresses.filter((a) => net.isIPv4(a)),
    6: c.addresses.filter((a) => net.isIPv6(a)),
  };
  const turn = { 4: 0, 6: 0 };
  const max = c.concurrency ?? Infinity;
  let running = 0;
  const waiting: (() => void)[] = [];

  const release = () => {
    running--;
    const next = waiting.shift();
    if (next) next();
  };

  return {
    name,
    helo: c.helo,
    sourceFor(target, domain) {
      const family = net.isIPv6(target) && !/^::ffff:\d/i.test(target) ? 6 : 4;
      const list = byFamily[family];
      if (!list.length) return null;
      if (c.select === 'hash') return list[hashSlot(domain, list.length)]!;
      const a = list[turn[family] % list.length]!;
      turn[family] = (turn[family] + 1) % list.length;
      return a;
    },
    enter({ signal, deadline } = {}) {
      if (signal?.aborted) return Promise.resolve(null);
      if (running < max) {
        running++;
        return Promise.resolve(once(release));
      }
      return new Promise((resolve) => {
        const timer = deadline !== undefined ? setTimeout(() => give(null), Math.max(0, deadline - Date.now())) : null;
        const onAbort = () => give(null);
        const wake = () => {
          running++;
          give(once(release));
        };
        function give(v: (() => void) | null) {
          if (timer) clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          if (v === null) {
            const i = waiting.indexOf(wake);
            if (i >= 0) waiting.splice(i, 1);
          }
          resolve(v);
        }
        signal?.addEventListener('abort', onAbort, { once: true });
        waiting.push(wake);
      });
    },
    load: () => ({ running, waiting: waiting.length }),
  };
}

export function createEgressPools(config: Record<string, EgressPoolConfig>): EgressPools {
  const pools = new Map(Object.entries(config).map(([name, c]) => [name, createEgressPool(name, c)]));
  return { get: (name) => pools.get(name) ?? null, names: () => [...pools.keys()] };
}

function once(fn: () => void): () => void {
  let done = false;
  return () => {
    if (!done) {
      done = true;
      fn();
    }
  };
}
