/**
 * The operator's figures (the console's dashboard, and the gauges /metrics reads at scrape
 * time, so both show the same numbers): the queue by state, what happened in the last hour
 * (events by type, the top senders), and how many mailboxes and sites are on hold and client
 * addresses banned. Operator-only: nothing here is scoped to a customer.
 */
import type { Store } from '../store/index.ts';
import type { QueueDepthCounts, TrackingSummary } from '../core/index.ts';
import { read, type Declarations } from './audit.ts';

export const HOUR_MS = 3_600_000;
/** How many senders the dashboard and postern_top_sender_messages show. */
export const TOP_SENDERS = 10;

export interface ActivityFigures {
  heldMailboxes: number;
  heldSites: number;
  /** Client addresses banned now. */
  bansActive: number;
  /** Events by type and the top senders since one hour ago. */
  lastHour: TrackingSummary;
}

export function createFigureService(store: Store, now: () => number) {
  const lastHourSummary = (top = TOP_SENDERS): Promise<TrackingSummary> => store.tracking.summary(now() - HOUR_MS, top);
  return {
    /** Messages by state and pending recipients, counted cheaply. */
    queueDepth: (): Promise<QueueDepthCounts> => store.queue.depth(),
    lastHourSummary,
    async activityFigures(): Promise<ActivityFigures> {
      const [mailboxes, sites, bans, lastHour] = await Promise.all([
        store.mailboxes.held(),
        store.sites.held(),
        store.authGuard.bans(now()),
        lastHourSummary(),
      ]);
      return { heldMailboxes: mailboxes.length, heldSites: sites.length, bansActive: bans.length, lastHour };
    },
  };
}

/** The dashboard figures only read. */
export const figureOperations = {
  queueDepth: read,
  lastHourSummary: read,
  activityFigures: read,
} satisfies Declarations<ReturnType<typeof createFigureService>>;
