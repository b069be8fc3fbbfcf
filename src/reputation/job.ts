/**
 * The blocklist watch as a timed job (app/'s housekeeping runs it every
 * blocklists.intervalMinutes, in the one process that serves the local channel): each egress
 * pool address is asked of each zone; a new listing is mailed to bounce.postmaster (queued by
 * the `queueNotice` it is handed: intake, with the null sender) and, when configured, POSTed
 * as JSON to blocklists.webhookUrl. A slow check is not started twice.
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Config } from '../config/index.ts';
import type { Store } from '../store/index.ts';
import { createBlocklistWatch, resolverLookup, type Lookup, type NewListing } from './blocklists.ts';
import { buildListingNotice, listingJson } from './notice.ts';

export interface BlocklistJob {
  /** Checks now; the new listings ([] while a check runs, or when it failed: then it is logged). */
  check(): Promise<NewListing[]>;
  /** The timed run: like check, but a failure is thrown (after its log line) to be counted. */
  tick(): Promise<void>;
}

export interface BlocklistJobDeps {
  store: Store;
  /** Queues a notice text to one address; resolves with its queue id. */
  queueNotice(text: Buffer, to: string): Promise<string>;
  now(): number;
  logger: Logger;
  registry?: Registry;
  lookup?: Lookup;
  /** The results changed (delivery reads the listed pools again). */
  checked?: () => void;
}

/** The job, or null when there is nothing to watch (no zones or no pools). */
export function createBlocklistJob(config: Config, deps: BlocklistJobDeps): BlocklistJob | null {
  const b = config.blocklists;
  const pools = config.delivery.pools;
  if (!b.zones.length || !Object.keys(pools).length) return null;
  const logger = deps.logger.child({ part: 'blocklists' });
  const fallbackOf = (pool: string) => pools[pool]?.fallback ?? null;

  async function mail(items: NewListing[]): Promise<void> {
    const to = config.bounce.postmaster;
    if (!to) return void logger.warn({ evt: 'blocklist' }, 'no bounce.postmaster to tell about a listing');
    const text = buildListingNotice({
      hostname: config.hostname,
      from: config.bounce.from ?? `MAILER-DAEMON@${config.hostname}`,
      to,
      now: new Date(deps.now()),
      items,
      fallbackOf,
    });
    await deps.queueNotice(text, to).then(
      (queueId) => logger.info({ evt: 'blocklist', notice: queueId, to }, 'listing notice queued'),
      (err: Error) => logger.error({ evt: 'blocklist', err: err.message }, 'could not queue the listing notice'),
    );
  }

  async function post(items: NewListing[]): Promise<void> {
    if (!b.webhookUrl) return;
    await fetch(b.webhookUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(listingJson(items, fallbackOf)),
      signal: AbortSignal.timeout(10_000),
    })
      .then((r) => {
        if (!r.ok) throw new Error(`HTTP ${r.status}`);
      })
      .catch((err: Error) => logger.error({ evt: 'blocklist', url: b.webhookUrl, err: err.message }, 'listing webhook failed'));
  }

  const watch = createBlocklistWatch({
    store: deps.store,
    logger,
    now: deps.now,
    registry: deps.registry,
    notify: async (items) => {
      await mail(items);
      await post(items);
    },
    lookup: deps.lookup ?? resolverLookup(config.dns.servers, config.dns.timeoutMs, config.dns.tries),
    settings: { zones: b.zones, pools, defaultPool: config.delivery.defaultPool ?? null, senderHours: b.senderHours },
  });
  let busy = false;
  async function attempt(): Promise<NewListing[]> {
    if (busy) return [];
    busy = true;
    try {
      const fresh = await watch.checkAll();
      deps.checked?.();
      return fresh;
    } catch (err) {
      logger.error({ evt: 'blocklist', err: (err as Error).message }, 'blocklist check failed');
      throw err;
    } finally {
      busy = false;
    }
  }
  return { check: () => attempt().catch(() => []), tick: async () => void (await attempt()) };
}
