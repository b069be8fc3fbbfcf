/**
 * The timed jobs of a process, each declared as `every(name, intervalMs, fn)`: run once at
 * start and then every interval on an unref'd timer (a timer never keeps the process alive); a
 * run whose previous run is still going is skipped, never started twice; stop clears the
 * timers and waits for the runs in flight. Each run is counted by job and result (ok, failed,
 * skipped) with its duration. A job logs its own failure (its evt and message) and throws it
 * to be counted here; nothing a job throws escapes.
 */
import type { Logger } from 'pino';
import type { Metrics } from '../observability/index.ts';

export interface Housekeeping {
  /** Declares a job (before start). */
  every(name: string, intervalMs: number, fn: () => Promise<void>): void;
  /** Runs every job once now and starts their timers. */
  start(): void;
  /** Runs one job now, unless its previous run is still going (then resolves at once). */
  run(name: string): Promise<void>;
  /** Stops the timers and waits for the runs in flight. */
  stop(): Promise<void>;
}

interface Job {
  name: string;
  intervalMs: number;
  fn: () => Promise<void>;
  running: Promise<void> | null;
  timer: NodeJS.Timeout | null;
}

export function createHousekeeping(deps: {
  logger: Logger;
  metrics?: Pick<Metrics, 'housekeepingRuns' | 'housekeepingSeconds'>;
}): Housekeeping {
  const jobs = new Map<string, Job>();
  let stopped = false;

  async function once(job: Job): Promise<void> {
    const began = performance.now();
    try {
      await job.fn();
      deps.metrics?.housekeepingRuns.inc({ job: job.name, result: 'ok' });
    } catch (err) {
      deps.metrics?.housekeepingRuns.inc({ job: job.name, result: 'failed' });
      deps.logger.debug({ evt: 'housekeeping', job: job.name, err: (err as Error).message }, 'housekeeping job failed');
    } finally {
      deps.metrics?.housekeepingSeconds.observe({ job: job.name }, (performance.now() - began) / 1000);
    }
  }

  function run(job: Job): Promise<void> {
    if (stopped) return Promise.resolve();
    if (job.running) {
      deps.metrics?.housekeepingRuns.inc({ job: job.name, result: 'skipped' });
      return Promise.resolve();
    }
    job.running = once(job).finally(() => {
      job.running = null;
    });
    return job.running;
  }

  return {
    every(name, intervalMs, fn) {
      if (jobs.has(name)) throw new Error(`housekeeping: job ${name} declared twice`);
      jobs.set(name, { name, intervalMs, fn, running: null, timer: null });
    },
    start() {
      for (const job of jobs.values()) {
        void run(job);
        job.timer = setInterval(() => void run(job), job.intervalMs);
        job.timer.unref();
      }
    },
    run(name) {
      const job = jobs.get(name);
      if (!job) throw new Error(`housekeeping: no job ${name}`);
      return run(job);
    },
    async stop() {
      stopped = true;
      for (const job of jobs.values()) if (job.timer) clearInterval(job.timer);
      await Promise.all([...jobs.values()].map((j) => j.running));
    },
  };
}
