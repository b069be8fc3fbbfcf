/**
 * Old rows go: message tracking past tracking.retentionDays (or beyond tracking.maxBytes; also
 * when tracking is off), and console sessions past their end or idle (a request also ends
 * them; this frees the rows). Each logs what it removed, or its failure, and throws it.
 */
import type { Logger } from 'pino';
import type { Clock } from '../core/index.ts';
import type { Store } from '../store/index.ts';

const DAY = 86_400_000;

export interface RetentionDeps {
  store: Pick<Store, 'tracking' | 'consoleSessions'>;
  clock: Clock;
  logger: Logger;
}

export async function pruneTracking(deps: RetentionDeps, t: { retentionDays: number; maxBytes: number }): Promise<void> {
  try {
    const r = await deps.store.tracking.prune({ olderThan: deps.clock.now() - t.retentionDays * DAY, maxBytes: t.maxBytes });
    if (r.messages) deps.logger.info({ evt: 'tracking', pruned: r.messages, bytes: r.bytes }, 'message tracking pruned');
  } catch (err) {
    deps.logger.error({ evt: 'tracking', err: (err as Error).message }, 'message tracking prune failed');
    throw err;
  }
}

export async function pruneConsoleSessions(deps: RetentionDeps, idleMinutes: number): Promise<void> {
  const now = deps.clock.now();
  try {
    const n = await deps.store.consoleSessions.prune(now, now - idleMinutes * 60_000);
    if (n) deps.logger.debug({ evt: 'console', pruned: n }, 'old console sessions deleted');
  } catch (err) {
    deps.logger.error({ evt: 'console', err: (err as Error).message }, 'console session prune failed');
    throw err;
  }
}
