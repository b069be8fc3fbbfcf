/**
 * What a scan result means for a message, as data: score thresholds (per customer when
 * configured) and rspamd's own action, the more severe of the two winning; a virus is always
 * refused. The refusal carries a reference (the queue id) the customer can quote to support,
 * never the names of the rules that matched.
 */
import type { RspamdResult } from './rspamd.ts';

export interface ScanThresholds {
  addHeaderScore: number;
  holdScore: number;
  rejectScore: number;
}

export type ScanAction = 'accept' | 'header' | 'hold' | 'defer' | 'reject';

const SEVERITY: Record<ScanAction, number> = { accept: 0, header: 1, hold: 2, defer: 3, reject: 4 };
const OF_RSPAMD: Record<string, ScanAction> = {
  'no action': 'accept',
  greylist: 'accept',
  'add header': 'header',
  'rewrite subject': 'header',
  'soft reject': 'defer',
  reject: 'reject',
};
/** Symbols of rspamd's antivirus module (ClamAV and the others it wraps). */
const VIRUS = /(^|_)(VIRUS|CLAM|CLAMAV|AVAST|SOPHOS|FPROT|KAS|ICAP)(_|$)/;

export interface Verdict {
  action: ScanAction;
  virus: boolean;
  spam: boolean;
  score: number;
}

export function verdictOf(r: RspamdResult, t: ScanThresholds): Verdict {
  const virus = r.symbols.some((s) => VIRUS.test(s) && !/FAIL|ENCRYPTED/.test(s));
  const byScore: ScanAction =
    r.score >= t.rejectScore ? 'reject' : r.score >= t.holdScore ? 'hold' : r.score >= t.addHeaderScore ? 'header' : 'accept';
  const byRspamd = OF_RSPAMD[r.action] ?? 'accept';
  let action = SEVERITY[byRspamd] > SEVERITY[byScore] ? byRspamd : byScore;
  if (virus) action = 'reject';
  // spam, as a compromise signal: what was held or refused for good (a deferral may be rspamd's
  // own rate limiting, and a retry of the same message must not count twice)
  return { action, virus, spam: virus || action === 'hold' || action === 'reject', score: r.score };
}

/** The header fields a scanned message carries (put on top at delivery). */
export function scanHeaders(r: RspamdResult, v: Verdict, t: ScanThresholds): string {
  const yes = v.action !== 'accept';
  return `X-Spam-Status: ${yes ? 'Yes' : 'No'}, score=${r.score.toFixed(2)} required=${t.addHeaderScore.toFixed(2)}\r\nX-Spam-Score: ${r.score.toFixed(2)}\r\n`;
}
