/**
 * Delivery results the store would not take (it is away): kept, in memory up to `maxInMemory`
 * recipients and beyond that in files of `dir` (written, fsynced, renamed into place), and
 * written when the store is back. Their recipients keep their leases meanwhile, so nobody
 * offers them again; files left by a process that stopped are read at the next start and
 * written before its leases are released. Fails only when the local disk does too (then the
 * results stay in memory, and the leases are the last resort).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { DeliveryJob, RecipientUpdate } from '../core/index.ts';

export interface HeldResult {
  updates: RecipientUpdate[];
  job?: DeliveryJob /** When it was held (ms). */;
  at: number;
}

export interface ResultHold {
  add(entry: HeldResult): void;
  /** Recipients held (in memory and on disk). */
  size(): number;
  /** Reads files left by an earlier run. */
  load(): void;
  /**
   * Writes what is held through `write`, oldest first, in batches. Files stop at the first
   * failure. In memory, an entry the store refuses while it takes a later one is one it will
   * never take (a byte it refuses): it is handed to `refused` and dropped, so it cannot stall
   * the node; three failures in a row with nothing written mean the store is away: stop.
   * Resolves with what was written (for the after-write steps); a file that cannot be written
   * rejects (what was written before is written).
   */
  flush(write: (updates: RecipientUpdate[]) => Promise<void>, refused?: (e: HeldResult, err: Error) => void): Promise<HeldResult[]>;
  /** Drops what was held before `before` (its leases are over: the store would refuse it as stale); returns how many recipients. */
  dropOlderThan(before: number): number;
  /** Everything still in memory goes to disk (at stop). */
  spillAll(): void;
}

const BATCH = 500;

export function createResultHold(o: { dir: string | null; maxInMemory: number; onSpillError?: (err: Error) => void }): ResultHold {
  let memory: HeldResult[] = [];
  let inMemory = 0;
  const files: { file: string; count: number; at: number }[] = [];
  let seq = 0;

  function spill(entries: HeldResult[]): boolean {
    if (!o.dir || !entries.length) return false;
    try {
      fs.mkdirSync(o.dir, { recursive: true });
      const name = `results-${Date.now()}-${process.pid}-${seq++}.json`;
      const tmp = path.join(o.dir, `.${name}`);
      const updates = entries.flatMap((e) => e.updates);
      const fd = fs.openSync(tmp, 'w', 0o600);
      try {
        fs.writeSync(fd, JSON.stringify(updates));
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      fs.renameSync(tmp, path.join(o.dir, name));
      const dfd = fs.openSync(o.dir, 'r');
      try {
        fs.fsyncSync(dfd);
      } finally {
        fs.closeSync(dfd);
      }
      files.push({ file: path.join(o.dir, name), count: updates.length, at: Math.min(...entries.map((e) => e.at)) });
      return true;
    } catch (err) {
      o.onSpillError?.(err as Error);
      return false;
    }
  }

  return {
    add(entry) {
      memory.push(entry);
      inMemory += entry.updates.length;
      if (inMemory > o.maxInMemory && spill(memory)) {
        memory = [];
        inMemory = 0;
      }
    },
    size: () => inMemory + files.reduce((n, f) => n + f.count, 0),
    load() {
      if (!o.dir || !fs.existsSync(o.dir)) return;
      for (const name of fs
        .readdirSync(o.dir)
        .filter((n) => n.startsWith('results-'))
        .sort()) {
        const file = path.join(o.dir, name);
        const updates = JSON.parse(fs.readFileSync(file, 'utf8')) as RecipientUpdate[];
        files.push({ file, count: updates.length, at: fs.statSync(file).mtimeMs });
      }
    },
    async flush(write, refused) {
      const done: HeldResult[] = [];
      while (files.length) {
        const f = files[0]!;
        const updates = JSON.parse(fs.readFileSync(f.file, 'utf8')) as RecipientUpdate[];
        for (let i = 0; i < updates.length; i += BATCH) await write(updates.slice(i, i + BATCH));
        fs.rmSync(f.file, { force: true });
        files.shift();
        done.push({ updates, at: f.at });
      }
      const failed: { e: HeldResult; err: Error }[] = [];
      for (const e of [...memory]) {
        try {
          await write(e.updates);
        } catch (err) {
          failed.push({ e, err: err as Error });
          if (failed.length >= 3 && !done.length) break;
          continue;
        }
        memory.splice(memory.indexOf(e), 1);
        inMemory -= e.updates.length;
        done.push(e);
        // the store takes writes: what it refused before this one it will never take
        for (const f of failed.splice(0)) {
          memory.splice(memory.indexOf(f.e), 1);
          inMemory -= f.e.updates.length;
          refused?.(f.e, f.err);
        }
      }
      return done;
    },
    dropOlderThan(before) {
      let n = 0;
      while (files.length && files[0]!.at < before) {
        n += files[0]!.count;
        fs.rmSync(files.shift()!.file, { force: true });
      }
      while (memory.length && memory[0]!.at < before) {
        const e = memory.shift()!;
        inMemory -= e.updates.length;
        n += e.updates.length;
      }
      return n;
    },
    spillAll() {
      if (spill(memory)) {
        memory = [];
        inMemory = 0;
      }
    },
  };
}
