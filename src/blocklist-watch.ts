/**
 * Runs the blocklist watch of reputation/ on a timer in the one process that serves the local
 * channel: every blocklists.intervalMinutes, each egress pool address is asked of each zone; a
 * new listing is mailed to bounce.postmaster (queued through intake with the null sender) and,
 * when configured, POSTed as JSON to blocklists.webhookUrl. Returns its stop.
 */
import { Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Config } from './config/index.ts';
import { newQueueId, type Clock } from './core/index.ts';
import type { Store } from './store/index.ts';
import type { Intake } from './intake/index.ts';
import { buildListingNotice, createBlocklistWatch, listingJson, resolverLookup, type Lookup, type NewListing } from './reputation/index.ts';

export interface BlocklistWatchRun { check(): Promise<NewListing[]>; stop(): void }

export function startBlocklistWatch(
  config: Config, deps: { store: Store; intake: Intake; clock: Clock; logger: Logger; registry?: Registry; lookup?: Lookup; checked?: () => void },
): BlocklistWatchRun | null {
  const b = config.blocklists;
  const pools = config.delivery.pools;
  if (!b.zones.length || !Object.keys(pools).length) return null;
  const logger = deps.logger.child({ part: 'blocklists' });
  const fallbackOf = (pool: string) => pools[pool]?.fallback ?? null;

  async function notify(items: NewListing[]): Promise<void> {
    const to = config.bounce.postmaster;
    if (to) {
      const text = buildListingNotice({
        hostname: config.hostname, from: config.bounce.from ?? `MAILER-DAEMON@${config.hostname}`, to, now: new Date(deps.clock.now()), items, fallbackOf,
      });
      const queueId = newQueueId(deps.clock.now());
      await deps.intake.receive(Readable.from([text]), {
        queueId, origin: { kind: 'notice', customerId: null }, sender: '', recipients: [{ address: to }], dsnRet: null, dsnEnvid: null,
        clientIp: '127.0.0.1', clientHostname: 'localhost',
        heloName: config.hostname, tls: null, listener: 'notice',
      }).then(() => logger.info({ evt: 'blocklist', notice: queueId, to }, 'listing notice queued'),
        (err: Error) => logger.error({ evt: 'blocklist', err: err.message }, 'could not queue the listing notice'));
    } else {
      logger.warn({ evt: 'blocklist' }, 'no bounce.postmaster to tell about a listing');
    }
    if (b.webhookUrl) {
      await fetch(b.webhookUrl, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(listingJson(items, fallbackOf)), signal: AbortSignal.timeout(10_000),
      }).then((r) => { if (!r.ok) throw new Error(`HTTP ${r.status}`); })
        .catch((err: Error) => logger.error({ evt: 'blocklist', url: b.webhookUrl, err: err.message }, 'listing webhook failed'));
    }
  }

  const watch = createBlocklistWatch({
    store: deps.store, logger, now: () => deps.clock.now(), registry: deps.registry, notify,
    lookup: deps.lookup ?? resolverLookup(config.dns.servers, config.dns.timeoutMs, config.dns.tries),
    settings: { zones: b.zones, pools, defaultPool: config.delivery.defaultPool ?? null, senderHours: b.senderHours },
  });
  let busy = false;
  const check = async (): Promise<NewListing[]> => {
    if (busy) return [];
    busy = true;
    try {
      const fresh = await watch.checkAll();
      deps.checked?.();
      return fresh;
    } catch (err) {
      logger.error({ evt: 'blocklist', err: (err as Error).message }, 'blocklist check failed');
      return [];
    } finally {
      busy = false;
    }
  };
  void check();
  const timer = setInterval(() => void check(), b.intervalMinutes * 60_000);
  timer.unref();
  return { check, stop: () => clearInterval(timer) };
}
