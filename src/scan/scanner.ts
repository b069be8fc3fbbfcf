/**
 * The scanner as intake uses it: a tap for each message (or none when scanning is off, or the
 * circuit breaker is open), and the decision once the message ended: accept (with the
 * X-Spam fields), hold, or refuse. When the scanner fails, the configured policy decides
 * (tempfail 451 4.7.0, or accept and log); after `breakerFailures` failures in a row it is not
 * asked for `breakerSeconds`, so a dead scanner does not add its timeout to every message.
 * Every bypass is logged and counted.
 */
import type { Logger } from 'pino';
import { because, smtpError, type Clock, type SmtpError } from '../core/index.ts';
import { ScanTap, type ScanContext, type ScanOutcome } from './rspamd.ts';
import { scanHeaders, verdictOf, type ScanThresholds } from './verdict.ts';
import type { Metrics } from '../observability/index.ts';

export interface ScanConfig extends ScanThresholds {
  enabled: boolean;
  url: string;
  timeoutSeconds: number;
  maxBytes: number;
  onFailure: 'tempfail' | 'accept';
  breakerFailures: number;
  breakerSeconds: number;
  customers: Record<string, Partial<ScanThresholds>>;
}

export type ScanDecision =
  | { kind: 'accept'; headers: string; score: number | null; spam: boolean }
  | { kind: 'hold'; headers: string; score: number; spam: true }
  | { kind: 'refuse'; error: SmtpError; score: number | null; spam: boolean };

export interface ScanStats {
  scanned: number;
  skipped: number;
  failed: number;
  bypassed: number;
  breakerOpen: boolean;
}

export interface Scanner {
  /** A tap for this message, or null when it is not scanned (off, or the breaker is open). */
  tap(ctx: ScanContext): ScanTap | null;
  /** The decision once the message ended (tap null: not scanned). */
  decide(tap: ScanTap | null, ctx: ScanContext & { customer: string | null }): Promise<ScanDecision>;
  stats(): ScanStats;
}

export function createScanner(config: ScanConfig, deps: { logger: Logger; clock: Clock; metrics?: Metrics }): Scanner {
  const { logger, metrics } = deps;
  const counts = { scanned: 0, skipped: 0, failed: 0, bypassed: 0 };
  const count = (result: keyof typeof counts) => {
    counts[result]++;
    metrics?.scanMessages.inc({ result });
  };
  let failures = 0;
  let openUntil = 0;
  const thresholds = (customer: string | null): ScanThresholds => ({
    addHeaderScore: config.addHeaderScore,
    holdScore: config.holdScore,
    rejectScore: config.rejectScore,
    ...(customer ? config.customers[customer] : undefined),
  });

  function bypass(ctx: ScanContext, why: string): ScanDecision {
    count('bypassed');
    logger.warn({ evt: 'scan', qid: ctx.queueId, result: 'bypass', why, policy: config.onFailure }, 'message not scanned');
    if (config.onFailure === 'accept') return { kind: 'accept', headers: '', score: null, spam: false };
    return {
      kind: 'refuse',
      error: because(smtpError(451, '4.7.0', 'The content scanner is not available; try again later'), 'unavailable'),
      score: null,
      spam: false,
    };
  }

  function failed(o: Extract<ScanOutcome, { kind: 'failed' }>, ctx: ScanContext): ScanDecision {
    count('failed');
    failures++;
    if (failures >= config.breakerFailures && deps.clock.now() >= openUntil) {
      openUntil = deps.clock.now() + config.breakerSeconds * 1000;
      metrics?.scanBreakerOpen.set(1);
      setTimeout(() => metrics?.scanBreakerOpen.set(deps.clock.now() < openUntil ? 1 : 0), config.breakerSeconds * 1000).unref();
      logger.error(
        { evt: 'scan', result: 'breaker-open', failures, until: new Date(openUntil).toISOString() },
        'content scanner failing: not asked until the breaker closes',
      );
    }
    return bypass(ctx, `scanner failed: ${o.why}`);
  }

  return {
    tap(ctx) {
      if (!config.enabled) return null;
      if (deps.clock.now() < openUntil) return null;
      return new ScanTap({ url: config.url, timeoutMs: config.timeoutSeconds * 1000, maxBytes: config.maxBytes }, ctx);
    },
    async decide(tap, ctx) {
      if (!config.enabled) return { kind: 'accept', headers: '', score: null, spam: false };
      if (!tap) return bypass(ctx, 'circuit breaker open');
      const o = await tap.outcome();
      if (o.kind === 'skipped') {
        count('skipped');
        logger.info({ evt: 'scan', qid: ctx.queueId, result: 'skipped', why: o.why }, 'message not scanned');
        return { kind: 'accept', headers: '', score: null, spam: false };
      }
      if (o.kind === 'failed') return failed(o, ctx);
      failures = 0; // a working scanner closes the breaker (half-open: the first scan after the pause decides)
      count('scanned');
      const t = thresholds(ctx.customer);
      const v = verdictOf(o.result, t);
      const headers = scanHeaders(o.result, v, t);
      metrics?.scanActions.inc({ action: v.action });
      logger.info(
        {
          evt: 'scan',
          qid: ctx.queueId,
          user: ctx.user,
          customer: ctx.customer,
          score: o.result.score,
          rspamd: o.result.action,
          action: v.action,
          virus: v.virus || undefined,
          symbols: o.result.symbols,
          ms: o.ms,
        },
        'message scanned',
      );
      const ref = `reference ${ctx.queueId}`;
      if (v.virus)
        return {
          kind: 'refuse',
          error: because(
            smtpError(550, '5.7.1', `Message refused: it contains a virus (${ref}); remove the infected attachment`),
            'content',
          ),
          score: v.score,
          spam: true,
        };
      if (v.action === 'reject')
        return {
          kind: 'refuse',
          error: because(
            smtpError(550, '5.7.1', `Message refused as spam (${ref}); quote this reference to your provider's support`),
            'content',
          ),
          score: v.score,
          spam: true,
        };
      if (v.action === 'defer')
        return {
          kind: 'refuse',
          error: because(smtpError(451, '4.7.1', `Message looks like spam; try again later (${ref})`), 'content'),
          score: v.score,
          spam: false,
        };
      // relayed mail (no login) is not ours to hold: the recipient's system judges it by the headers
      if (v.action === 'hold' && !ctx.user) return { kind: 'accept', headers, score: v.score, spam: false };
      if (v.action === 'hold') return { kind: 'hold', headers, score: v.score, spam: true };
      return { kind: 'accept', headers, score: v.score, spam: false };
    },
    stats: () => ({ ...counts, breakerOpen: deps.clock.now() < openUntil }),
  };
}
