/** Reading postern.yaml: YAML parse, schema validation, error messages with the key path. */
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import * as z from 'zod';
import { configSchema, type Config } from './schema.ts';

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(source: string, problems: string[]) {
    super(`${source}: invalid configuration\n` + problems.map((p) => `  - ${p}`).join('\n'));
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export interface LoadedConfig {
  config: Config;
  source: string | null; // the file read, or null for embedded defaults
}

/** Where an installed server keeps its configuration (docs/install.md). */
export const SYSTEM_CONFIG = '/etc/postern/postern.yaml';

/** Which file to read: --config, then POSTERN_CONFIG, then ./postern.yaml, then
 *  /etc/postern/postern.yaml, the first that exists; none: the embedded defaults. */
export function configPath(explicit: string | undefined, env: NodeJS.ProcessEnv = process.env, system = SYSTEM_CONFIG): string | null {
  if (explicit) return path.resolve(explicit);
  if (env.POSTERN_CONFIG) return path.resolve(env.POSTERN_CONFIG);
  const local = path.resolve('postern.yaml');
  if (fs.existsSync(local)) return local;
  return fs.existsSync(system) ? system : null;
}

export function parseConfig(input: unknown, source = 'config'): Config {
  const result = configSchema.safeParse(input ?? {});
  if (!result.success) {
    const problems = result.error.issues.map((i) => {
      const where = i.path.length
        ? i.path
            .map((p) => (typeof p === 'number' ? `[${p}]` : String(p)))
            .join('.')
            .replace(/\.\[/g, '[')
        : '(top level)';
      return `${where}: ${i.message}`;
    });
    throw new ConfigError(source, problems);
  }
  const across = crossChecks(result.data);
  if (across.length) throw new ConfigError(source, across);
  return result.data;
}

/** Settings taken from the environment: $POSTERN_STORE_URL (so a database password need not be in the file). */
function withEnv(raw: unknown, env: NodeJS.ProcessEnv): unknown {
  if (!env.POSTERN_STORE_URL || !raw || typeof raw !== 'object' || Array.isArray(raw)) return raw;
  const r = raw as Record<string, unknown>;
  const store = r.store && typeof r.store === 'object' ? (r.store as Record<string, unknown>) : {};
  return { ...r, store: { ...store, url: env.POSTERN_STORE_URL } };
}

/** Rules between settings of different sections. */
function crossChecks(c: Config): string[] {
  const out: string[] = [];
  // a retired key's record may be removed, so no message signed with it may still be queued
  if (c.dkim.retireDays < c.delivery.expireDays) {
    out.push(
      `dkim.retireDays: must be at least delivery.expireDays (${c.delivery.expireDays}): mail signed with a retiring key may still be in the queue`,
    );
  }
  // a lease that ends while its attempt still runs lets another node start a second delivery
  const d = c.delivery;
  const longest = d.connectTimeoutSeconds + d.greetingTimeoutSeconds + d.commandTimeoutSeconds + d.dataTimeoutSeconds;
  if (d.leaseSeconds <= longest) {
    out.push(
      `delivery.leaseSeconds: must be more than connectTimeoutSeconds + greetingTimeoutSeconds + commandTimeoutSeconds + dataTimeoutSeconds (${longest}): a lease that ends while its attempt runs lets another node deliver the same recipient again`,
    );
  }
  return out;
}

/** Loads and validates the configuration; relative paths in a file are taken from its folder. */
export function loadConfig(explicit?: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const file = configPath(explicit, env);
  if (!file) return { config: resolvePaths(parseConfig(withEnv({}, env), 'defaults'), process.cwd()), source: null };
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [`cannot read the file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`]);
  }
  const doc = YAML.parseDocument(text, { prettyErrors: true });
  if (doc.errors.length) {
    throw new ConfigError(
      file,
      doc.errors.map((e) => e.message.split('\n')[0]),
    );
  }
  const config = parseConfig(withEnv(doc.toJS(), env), file);
  return { config: resolvePaths(config, path.dirname(file)), source: file };
}

function resolvePaths(config: Config, base: string): Config {
  const abs = (p: string) => path.resolve(base, p);
  const sni: Config['tls']['sni'] = {};
  for (const [name, pair] of Object.entries(config.tls.sni)) sni[name.toLowerCase()] = { cert: abs(pair.cert), key: abs(pair.key) };
  return {
    ...config,
    dataDir: abs(config.dataDir),
    tls: {
      ...config.tls,
      cert: config.tls.cert && abs(config.tls.cert),
      key: config.tls.key && abs(config.tls.key),
      sni,
    },
    store: { ...config.store, path: abs(config.store.path ?? path.join(abs(config.dataDir), 'postern.db')) },
    secrets: { ...config.secrets, keyFile: abs(config.secrets.keyFile ?? path.join(abs(config.dataDir), 'secrets.key')) },
    local: {
      ...config.local,
      socket: abs(config.local.socket ?? path.join(abs(config.dataDir), 'postern.sock')),
      dropDir: abs(config.local.dropDir ?? path.join(abs(config.dataDir), 'maildrop')),
    },
  };
}

/** Where `postern sendmail` reaches the server and where it drops mail when it cannot. */
export function localPaths(config: Config): { socket: string; dropDir: string } {
  return {
    socket: config.local.socket ?? path.join(config.dataDir, 'postern.sock'),
    dropDir: config.local.dropDir ?? path.join(config.dataDir, 'maildrop'),
  };
}

/** Where the key of the secret box lives (secrets.keyFile, or dataDir/secrets.key). */
export function secretsKeyFile(config: Config): string {
  return config.secrets.keyFile ?? path.join(config.dataDir, 'secrets.key');
}

/**
 * For a process that parses the configuration once and a handful of objects after it (a CLI
 * command): zod without its JIT, which would compile every object schema of the configuration
 * first (~75 ms for one parse, against ~2 ms without; measured). The server keeps the JIT for
 * the API's schemas it parses again and again.
 */
export function parseWithoutJit(): void {
  z.config({ jitless: true });
}
