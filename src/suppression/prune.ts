/** Expired suppressions leave the list (app/ runs this hourly, in one process). */
import type { Logger } from 'pino';
import type { Clock } from '../core/index.ts';
import type { Store } from '../store/index.ts';

export const PRUNE_EVERY_MS = 3_600_000;

/** Removes expired suppressions; logs what it removed, or its failure (and throws it). */
export async function pruneSuppressions(deps: { store: Pick<Store, 'suppressions'>; clock: Clock; logger: Logger }): Promise<void> {
  try {
    const n = await deps.store.suppressions.prune(deps.clock.now());
    if (n) deps.logger.info({ evt: 'suppress', pruned: n }, 'expired suppressions removed');
  } catch (err) {
    deps.logger.error({ evt: 'suppress', err: (err as Error).message }, 'pruning expired suppressions failed');
    throw err;
  }
}
