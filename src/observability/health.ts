/**
 * Readiness: named checks (the store answers, the listeners are bound), each given a short
 * time to answer. A check resolves with null when all is well, or a short word on what is not
 * ("not listening: mx:25"); a check that throws or is too slow is "error" or "timeout". Replies
 * carry no error text (they are answered to anyone).
 */
import { TimeoutError, withTimeout } from './metrics.ts';

/** Resolves with null when ready, else with what is not (a short, public text). */
export type ReadinessCheck = () => Promise<string | null>;

export interface Readiness {
  ready: boolean;
  /** Each check: "ok", or what is not ready. */
  checks: Record<string, string>;
}

/** How long /readyz waits for each check. */
export const READY_TIMEOUT_MS = 2000;

export async function checkReadiness(checks: Record<string, ReadinessCheck>, timeoutMs = READY_TIMEOUT_MS): Promise<Readiness> {
  const names = Object.keys(checks);
  const results = await Promise.all(
    names.map(async (name) => {
      try {
        return (await withTimeout(checks[name]!(), timeoutMs)) ?? 'ok';
      } catch (err) {
        return err instanceof TimeoutError ? 'timeout' : 'error';
      }
    }),
  );
  const out: Record<string, string> = {};
  names.forEach((n, i) => {
    out[n] = results[i]!;
  });
  return { ready: results.every((r) => r === 'ok'), checks: out };
}
