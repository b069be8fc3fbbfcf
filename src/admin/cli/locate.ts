/**
 * Which configuration and which store a command uses. The CLI never invents a store: a command
 * other than `serve` and `migrate` refuses a store that is not there, naming the path it looked
 * at and how to point it elsewhere, so that `customer add` run from the wrong folder does not
 * "succeed" into a new, empty database the server never sees.
 */
import fs from 'node:fs';
import type { Config, LoadedConfig } from '../../config/index.ts';
import { CliExit } from './output.ts';

let lastSource: string | null = null;

/** Loads the configuration (module included) the way every command finds it. */
export async function loadCliConfig(explicit: string | undefined): Promise<LoadedConfig> {
  const { loadConfig, parseWithoutJit } = await import('../../config/index.ts');
  parseWithoutJit();
  const loaded = loadConfig(explicit);
  lastSource = loaded.source;
  return loaded;
}

/** Where the configuration came from, in words. */
export function describeSource(source: string | null): string {
  return source
    ? `configuration ${source}`
    : 'no configuration file found (--config, $POSTERN_CONFIG, ./postern.yaml, /etc/postern/postern.yaml): embedded defaults';
}

/** Throws EX_CONFIG (78) when the configured store does not exist. PostgreSQL is checked by connecting. */
export function existingStore(config: Config, source: string | null = lastSource): void {
  if (config.store.kind !== 'sqlite') return;
  const file = config.store.path!;
  if (fs.existsSync(file)) return;
  throw new CliExit(
    78,
    `postern: no Postern store at ${file} (${describeSource(source)}); run the command with the server's configuration (--config FILE or POSTERN_CONFIG), or start the server once with \`postern serve\` to create it`,
  );
}
