/** Removing a message's spool file from the CLI (queue delete, hold purge, customer remove). */
import path from 'node:path';
import type { Command } from 'commander';

/** remove(relPath) under the configured dataDir; the modules load when a body is removed. */
export function spoolRemover(program: Command): (relPath: string) => Promise<void> {
  return async (relPath) => {
    const [{ loadConfig }, { createSpool }] = await Promise.all([import('../../config/index.ts'), import('../../spool/index.ts')]);
    const dataDir = loadConfig(program.opts().config).config.dataDir;
    await (await createSpool(path.join(dataDir, 'spool'))).remove(relPath);
  };
}
