/**
 * The timed jobs of the process that serves the local channel, declared on its housekeeping
 * (housekeeping.ts): expired suppressions (hourly), our egress addresses on DNS blocklists,
 * the timed steps of DKIM key rotation, message tracking's retention (also when tracking is
 * off: old rows go) and old console sessions. The bodies live in their folders.
 */
import { Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { Config } from '../config/index.ts';
import { newQueueId, type Clock } from '../core/index.ts';
import type { Store } from '../store/index.ts';
import type { Intake } from '../intake/index.ts';
import type { SecretBox } from '../credentials/index.ts';
import type { Metrics } from '../observability/index.ts';
import { noticeRequest } from '../bounce/index.ts';
import { createDkimService, createDnsLookup, type Keyring } from '../dkim/index.ts';
import { createBlocklistJob, type BlocklistJob } from '../reputation/index.ts';
import { pruneSuppressions, PRUNE_EVERY_MS } from '../suppression/index.ts';
import { pruneConsoleSessions, pruneTracking } from '../retention/index.ts';
import type { Housekeeping } from './housekeeping.ts';

export interface JobDeps {
  store: Store;
  intake: Intake;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  secrets: () => SecretBox;
  keyring: Keyring | null;
  /** The blocklist results changed: delivery reads the listed pools again. */
  listingsChanged(): void;
}

/** Declares every job; returns the blocklist job (null: nothing to watch) for whoever checks it now. */
export function declareJobs(h: Housekeeping, config: Config, deps: JobDeps): BlocklistJob | null {
  const { store, clock, logger } = deps;
  h.every('suppression-prune', PRUNE_EVERY_MS, () => pruneSuppressions({ store, clock, logger }));
  const blocklists = createBlocklistJob(config, {
    store,
    logger,
    now: () => clock.now(),
    registry: deps.metrics.registry,
    checked: () => deps.listingsChanged(),
    queueNotice: async (text, to) => {
      const queueId = newQueueId(clock.now());
      await deps.intake.receive(
        Readable.from([text]),
        noticeRequest({ queueId, to: [to], customerId: null, listener: 'notice', hostname: config.hostname }),
      );
      return queueId;
    },
  });
  if (blocklists) h.every('blocklist-check', config.blocklists.intervalMinutes * 60_000, () => blocklists.tick());
  if (config.dkim.enabled) h.every('dkim-rotation', config.dkim.checkMinutes * 60_000, dkimRotation(config, deps));
  const t = config.tracking;
  h.every('tracking-prune', t.pruneMinutes * 60_000, () => pruneTracking({ store, clock, logger }, t));
  h.every('console-session-prune', t.pruneMinutes * 60_000, () =>
    pruneConsoleSessions({ store, clock, logger }, config.console.idleMinutes),
  );
  return blocklists;
}

/** One check of the rotation; keys activated or retired empty the keyring's cache. */
function dkimRotation(config: Config, deps: JobDeps): () => Promise<void> {
  const { logger } = deps;
  const lookup = createDnsLookup({ servers: config.dns.servers, timeoutMs: config.dns.timeoutMs, tries: config.dns.tries });
  const dkim = createDkimService({
    store: deps.store,
    secrets: deps.secrets,
    now: () => deps.clock.now(),
    logger,
    policy: config.dkim,
    lookup: () => lookup,
  });
  return async () => {
    try {
      const d = await dkim.tick();
      if (d.activated.length || d.retired.length) deps.keyring?.clear();
    } catch (err) {
      logger.error({ evt: 'dkim', err: (err as Error).message }, 'DKIM rotation check failed');
      throw err;
    }
  };
}
