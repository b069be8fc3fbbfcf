/**
 * TLS contexts for every listener: the default certificate and one per server name (SNI),
 * TLS 1.2 at least. Certificate files are checked for changes every reloadIntervalSeconds and
 * reloaded without a restart; a broken new file is logged and the old context kept.
 */
import fs from 'node:fs';
import tls from 'node:tls';
import type { Logger } from 'pino';

export interface CertPaths {
  cert: string;
  key: string;
}

export interface TlsRegistry {
  /** The default key and certificate (PEM), for smtp-server's own context. */
  defaults(): { key: Buffer; cert: Buffer };
  sniCallback(servername: string, cb: (err: Error | null, ctx?: tls.SecureContext) => void): void;
  /** Called with the new default pair whenever it changes on disk. */
  onDefaultChange(fn: (pair: { key: Buffer; cert: Buffer }) => void): void;
  /** Checks the files now (the timer does this periodically). */
  checkForChanges(): void;
  close(): void;
}

export const TLS_MIN_VERSION = 'TLSv1.2' as const;

interface Loaded {
  paths: CertPaths;
  stamp: string;
  key: Buffer;
  cert: Buffer;
  context: tls.SecureContext;
}

function stampOf(p: CertPaths): string {
  const a = fs.statSync(p.cert);
  const b = fs.statSync(p.key);
  return `${a.mtimeMs}:${a.size}:${a.ino}|${b.mtimeMs}:${b.size}:${b.ino}`;
}

function load(paths: CertPaths): Loaded {
  const stamp = stampOf(paths);
  const key = fs.readFileSync(paths.key);
  const cert = fs.readFileSync(paths.cert);
  const context = tls.createSecureContext({ key, cert, minVersion: TLS_MIN_VERSION });
  return { paths, stamp, key, cert, context };
}

export function createTlsRegistry(opts: {
  defaultPair: CertPaths;
  sni: Record<string, CertPaths>;
  reloadIntervalMs: number;
  logger: Logger;
}): TlsRegistry {
  let def = load(opts.defaultPair); // a broken default at start-up is fatal: thrown to main
  const byName = new Map<string, Loaded>();
  for (const [name, paths] of Object.entries(opts.sni)) {
    try {
      byName.set(name.toLowerCase(), load(paths));
    } catch (err) {
      opts.logger.error(
        { servername: name, err: (err as Error).message },
        'cannot load the certificate for this server name; the default is used',
      );
    }
  }
  const listeners: ((pair: { key: Buffer; cert: Buffer }) => void)[] = [];

  function refresh(name: string | null, current: Loaded | undefined, paths: CertPaths): Loaded | undefined {
    try {
      if (current && stampOf(paths) === current.stamp) return current;
      const next = load(paths);
      opts.logger.info({ servername: name ?? '(default)', cert: paths.cert }, 'certificate reloaded');
      return next;
    } catch (err) {
      opts.logger.error(
        { servername: name ?? '(default)', err: (err as Error).message },
        'certificate reload failed; keeping the one in use',
      );
      return current;
    }
  }

  function checkForChanges() {
    const nextDef = refresh(null, def, opts.defaultPair)!;
    if (nextDef !== def) {
      def = nextDef;
      for (const fn of listeners) fn({ key: def.key, cert: def.cert });
    }
    for (const [name, paths] of Object.entries(opts.sni)) {
      const key = name.toLowerCase();
      const next = refresh(key, byName.get(key), paths);
      if (next) byName.set(key, next);
    }
  }

  const timer = setInterval(checkForChanges, opts.reloadIntervalMs);
  timer.unref();

  return {
    defaults: () => ({ key: def.key, cert: def.cert }),
    sniCallback(servername, cb) {
      const name = (servername || '').toLowerCase().replace(/\.$/, '');
      const exact = byName.get(name);
      if (exact) return cb(null, exact.context);
      const dot = name.indexOf('.');
      const wildcard = dot > 0 ? byName.get('*' + name.slice(dot)) : undefined;
      cb(null, (wildcard ?? def).context);
    },
    onDefaultChange(fn) {
      listeners.push(fn);
    },
    checkForChanges,
    close() {
      clearInterval(timer);
    },
  };
}
