/**
 * scan/: outbound content scanning with rspamd (which also wraps ClamAV): a tap that streams
 * each message to rspamd beside intake's pipeline, the verdict as data (thresholds, rspamd's
 * action, viruses), and the failure policy with a circuit breaker. Never holds the message in
 * memory and never lets a failing scanner pass mail silently: every bypass is logged, and by
 * default it is a 451.
 * Imports: core, observability.
 */
export { ScanTap, type ScanContext, type RspamdResult, type ScanOutcome } from './rspamd.ts';
export { verdictOf, scanHeaders, type ScanThresholds, type ScanAction, type Verdict } from './verdict.ts';
export { createScanner, type Scanner, type ScanConfig, type ScanDecision, type ScanStats } from './scanner.ts';
