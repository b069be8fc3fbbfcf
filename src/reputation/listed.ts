/** Which pools have a listed address now, read from the store and kept for a short while (every node sees the same). */
import type { Store } from '../store/index.ts';

export interface ListedPools {
  /** The pool a job should leave from: the fallback of a listed pool that has one, else the pool itself. */
  effective(pool: string): Promise<string>;
  /** Forget what was read (this process just checked the lists). */
  clear(): void;
}

export function createListedPools(
  store: Store,
  fallbacks: Record<string, string | undefined>,
  now: () => number,
  ttlMs = 30_000,
): ListedPools {
  let cache: { at: number; listed: Set<string> } | null = null;
  const listed = async () => {
    if (cache && now() - cache.at < ttlMs) return cache.listed;
    const set = new Set((await store.blocklists.list()).filter((r) => r.listed).map((r) => r.pool));
    cache = { at: now(), listed: set };
    return set;
  };
  return {
    async effective(pool) {
      const fb = fallbacks[pool];
      if (!fb) return pool;
      return (await listed()).has(pool) ? fb : pool;
    },
    clear() {
      cache = null;
    },
  };
}
