/**
 * The SQLite store's watch: SQLite cannot announce what another process (the CLI) committed, so
 * triggers count the changes of a topic in change_versions and this polls that small table
 * while someone watches (every pollMs; the timer does not keep the process alive). A change by
 * this process is seen the same way. Topics without triggers are never announced.
 */
import type { ChangeTopic } from '../types.ts';
import type { Db } from './db.ts';

export interface ChangeFeed {
  watch(fn: (topic: ChangeTopic) => void): () => void;
  close(): void;
}

export function createChangeFeed(db: Db, pollMs = 250): ChangeFeed {
  const watchers = new Set<(topic: ChangeTopic) => void>();
  const read = db.prepare('SELECT topic, version FROM change_versions');
  let last = new Map<string, number>();
  let timer: NodeJS.Timeout | null = null;
  const versions = () => new Map((read.all() as { topic: string; version: number }[]).map((r) => [r.topic, r.version]));
  const poll = () => {
    let now: Map<string, number>;
    try {
      now = versions();
    } catch {
      return; // busy or closing: the next poll reads again
    }
    for (const [topic, v] of now) {
      if (last.get(topic) === v) continue;
      for (const fn of [...watchers]) fn(topic as ChangeTopic);
    }
    last = now;
  };
  const stop = () => {
    if (timer) clearInterval(timer);
    timer = null;
  };
  return {
    watch(fn) {
      watchers.add(fn);
      if (!timer) {
        last = versions();
        timer = setInterval(poll, pollMs);
        timer.unref();
      }
      return () => {
        watchers.delete(fn);
        if (!watchers.size) stop();
      };
    },
    close: stop,
  };
}
