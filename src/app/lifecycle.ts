/**
 * Parts started in order and stopped in reverse: a server is a list of parts, each with a start
 * and a stop (either may be absent). When a start fails, the parts already started (and the
 * failing one, whose start may have half-happened) are stopped in reverse and the error is
 * thrown. A stop that fails is logged and does not keep the next part from stopping.
 */
import type { Logger } from 'pino';

export interface Part {
  name: string;
  start?(): Promise<void> | void;
  stop?(): Promise<void> | void;
}

export interface Lifecycle {
  /** Starts every part in order; on a failure stops what was started, in reverse, and throws. */
  start(): Promise<void>;
  /** Stops every started part in reverse order (once; later calls wait for the same stop). */
  stop(): Promise<void>;
}

export function createLifecycle(parts: readonly Part[], logger: Logger): Lifecycle {
  const started: Part[] = [];
  let stopping: Promise<void> | null = null;

  async function stopAll(): Promise<void> {
    while (started.length) {
      const p = started.pop()!;
      try {
        await p.stop?.();
      } catch (err) {
        logger.error({ evt: 'stop', part: p.name, err: (err as Error).message }, 'a part failed to stop');
      }
    }
  }

  return {
    async start() {
      for (const p of parts) {
        if (stopping) throw new Error(`stopped while starting (before ${p.name})`);
        started.push(p); // a failed start may have half-happened: its stop runs too
        try {
          await p.start?.();
        } catch (err) {
          await (stopping ??= stopAll());
          throw err;
        }
      }
    },
    stop() {
      return (stopping ??= stopAll());
    },
  };
}
