/**
 * Can this node take a message? The local disk under the data folder (spool, SQLite, held
 * delivery results) has at least `minFreeBytes` free, and a small file can be written and
 * fsynced there. Answers null when it can, else a short public word for /readyz.
 */
import fsp from 'node:fs/promises';
import path from 'node:path';

export function diskReadiness(o: { dir: string; minFreeBytes: number }): () => Promise<string | null> {
  const probe = path.join(o.dir, '.readyz-probe');
  return async () => {
    const s = await fsp.statfs(o.dir);
    if (s.bavail * s.bsize < o.minFreeBytes) return 'low on disk space';
    try {
      const f = await fsp.open(probe, 'w', 0o600);
      try {
        await f.writeFile('ready?\n');
        await f.sync();
      } finally {
        await f.close();
      }
      await fsp.rm(probe, { force: true });
    } catch {
      return 'cannot write';
    }
    return null;
  };
}
