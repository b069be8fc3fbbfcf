/**
 * Message bodies on disk. A body is written to its final name while it streams in, then
 * fsynced; the folder is fsynced once per group-commit batch (syncDirs), before the queue
 * rows that refer to the body are committed. A body without a queue row is an orphan and is
 * swept at start-up.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';

export interface BodyFile {
  relPath: string;
  stream: Writable; // finishing it means: every byte written, fsynced and the file closed
  bytes(): number;
  discard(): Promise<void>;
}

export interface Spool {
  readonly root: string;
  create(id: string): Promise<BodyFile>;
  /** fsync the folders of these bodies (once each). */
  syncDirs(relPaths: Iterable<string>): Promise<void>;
  absPath(relPath: string): string;
  openRead(relPath: string): fs.ReadStream;
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
    async create(id) {
      const relPath = `${SHARD}/${id}`;
      const fh = await fsp.open(absPath(relPath), 'wx', 0o640);
      let written = 0;
      let closed = false;
      const close = async () => {
        if (!closed) {
          closed = true;
          await fh.close();
        }
      };
      const stream = new Writable({
        highWaterMark: 256 * 1024,
        writev(chunks, cb) {
          const bufs = chunks.map((c) => c.chunk as Buffer);
          fh.writev(bufs).then((r) => { written += r.bytesWritten; cb(); }, cb);
        },
        final(cb) {
          // fdatasync: the data and the size (all a reader needs); not the timestamps.
          fh.datasync().then(close).then(() => cb(), cb);
        },
        destroy(err, cb) {
          close().then(() => cb(err), () => cb(err));
        },
      });
      return {
        relPath,
        stream,
        bytes: () => written,
        async discard() {
          stream.destroy();
          await close().catch(() => undefined);
          await fsp.rm(absPath(relPath), { force: true });
        },
      };
    },
    async syncDirs(relPaths) {
      const dirs = new Set<string>();
      for (const p of relPaths) dirs.add(path.dirname(absPath(p)));
      await Promise.all([...dirs].map(fsyncPath));
    },
    openRead(relPath) {
      return fs.createReadStream(absPath(relPath));
    },
    async remove(relPath) {
      await fsp.rm(absPath(relPath), { force: true });
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
