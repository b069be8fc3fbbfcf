/**
 * Message bodies while they stream in. A small body stays in memory and is stored in its queue
 * row; a larger one is written to its final file name and fdatasynced, and the folder is
 * fsynced once per group-commit batch (syncDirs) before the rows that refer to it are
 * committed. A body file without a queue row is an orphan and is swept at start-up.
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import fs from 'node:fs';
import { Writable, type Readable } from 'node:stream';

/**
 * Where one message body goes while it streams in. Up to inlineMax bytes it is kept in memory
 * and stored in the queue row itself (one commit makes it durable: no file, no extra fsync);
 * past that it spills to a spool file that is fsynced at the end. Memory per session is
 * bounded by inlineMax either way.
 */
export interface BodySink {
  stream: Writable; // finishing it: every byte stored (file: written, fdatasynced, closed)
  bytes(): number;
  stored(): { relPath: string; body: null } | { relPath: null; body: Buffer };
  discard(): Promise<void>;
}

export interface Spool {
  readonly root: string;
  createBody(id: string, inlineMax: number): BodySink;
  /** fsync the folders of these bodies (once each). */
  syncDirs(relPaths: Iterable<string>): Promise<void>;
  absPath(relPath: string): string;
  /** A stream of a stored body file (errors such as ENOENT arrive as stream errors). */
  open(relPath: string): Readable;
  /** Deletes a delivered body; a missing file is not an error (a crash leaves orphans for sweep). */
  remove(relPath: string): Promise<void>;
  /** Deletes every body file not in `keep`; returns how many were removed. */
  sweep(keep: Set<string>): Promise<number>;
}

const SHARD = 'q';

async function fsyncPath(p: string): Promise<void> {
  const fh = await fsp.open(p, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export async function createSpool(root: string): Promise<Spool> {
  const dir = path.join(root, SHARD);
  await fsp.mkdir(dir, { recursive: true });
  await fsyncPath(root);
  await fsyncPath(path.dirname(root));

  const absPath = (rel: string) => path.join(root, rel);

  return {
    root,
    absPath,
    open: (rel) => fs.createReadStream(absPath(rel), { highWaterMark: 64 * 1024 }),
    async remove(rel) {
      await fsp.rm(absPath(rel), { force: true });
    },
    createBody(id, inlineMax) {
      const relPath = `${SHARD}/${id}`;
      let buffered: Buffer[] = [];
      let size = 0;
      let fh: fsp.FileHandle | null = null;
      let spilled = false;
      let closed = false;
      const close = async () => {
        if (fh && !closed) {
          closed = true;
          await fh.close();
        }
      };
      const writeAll = async (bufs: Buffer[]) => {
        if (!fh) {
          spilled = true;
          fh = await fsp.open(absPath(relPath), 'wx', 0o640);
        }
        for (let i = 0; i < bufs.length; i += 1024) await fh.writev(bufs.slice(i, i + 1024));
      };
      const stream = new Writable({
        highWaterMark: 256 * 1024,
        writev(chunks, cb) {
          const bufs = chunks.map((c) => c.chunk as Buffer);
          for (const b of bufs) size += b.length;
          if (!spilled && size <= inlineMax) {
            buffered.push(...bufs);
            return cb();
          }
          const pending = buffered.concat(bufs);
          buffered = [];
          writeAll(pending).then(() => cb(), cb);
        },
        final(cb) {
          if (!fh) return cb();
          // fdatasync: the data and the size (all a reader needs); not the timestamps.
          fh.datasync()
            .then(close)
            .then(() => cb(), cb);
        },
        destroy(err, cb) {
          close().then(
            () => cb(err),
            () => cb(err),
          );
        },
      });
      return {
        stream,
        bytes: () => size,
        stored: () => (spilled ? { relPath, body: null } : { relPath: null, body: Buffer.concat(buffered, size) }),
        async discard() {
          stream.destroy();
          buffered = [];
          await close().catch(() => undefined);
          if (spilled) await fsp.rm(absPath(relPath), { force: true });
        },
      };
    },
    async syncDirs(relPaths) {
      const dirs = new Set<string>();
      for (const p of relPaths) dirs.add(path.dirname(absPath(p)));
      await Promise.all([...dirs].map(fsyncPath));
    },
    async sweep(keep) {
      let removed = 0;
      for (const name of await fsp.readdir(dir)) {
        const rel = `${SHARD}/${name}`;
        if (!keep.has(rel)) {
          await fsp.rm(path.join(dir, name), { force: true });
          removed++;
        }
      }
      if (removed) await fsyncPath(dir);
      return removed;
    },
  };
}
