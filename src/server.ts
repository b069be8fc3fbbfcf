/**
 * Assembles a running server from a configuration: store, spool (with start-up recovery),
 * TLS, credentials, intake and one listener per configured port. Used by `postern serve` and
 * by the integration tests.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Config } from './config/index.ts';
import { systemClock, type Clock } from './core/index.ts';
import { openStore, type Store } from './store/index.ts';
import { createSpool } from './spool/index.ts';
import { createEnqueuer } from './queue/index.ts';
import { createIntake } from './intake/index.ts';
import { createAuthenticator, createLoginCache } from './credentials/index.ts';
import { createListener, createTlsRegistry, ensureSelfSigned, fingerprint, type Listener } from './listener/index.ts';

export interface RunningServer {
  listeners: Listener[];
  store: Store;
  close(): Promise<void>;
}

export async function startServer(config: Config, opts: { logger: Logger; clock?: Clock }): Promise<RunningServer> {
  const { logger } = opts;
  const clock = opts.clock ?? systemClock;
  fs.mkdirSync(config.dataDir, { recursive: true });

  const store = openStore(config);
  const spool = await createSpool(path.join(config.dataDir, 'spool'));
  const queued = await store.queue.bodyPaths();
  const swept = await spool.sweep(queued);
  logger.info({ evt: 'recovery', queued: queued.size, orphansRemoved: swept, store: store.kind, dataDir: config.dataDir }, 'queue recovered');

  let defaultPair = config.tls.cert && config.tls.key ? { cert: config.tls.cert, key: config.tls.key } : null;
  if (!defaultPair) {
    const made = await ensureSelfSigned(path.join(config.dataDir, 'tls'), config.hostname);
    defaultPair = { cert: made.cert, key: made.key };
    logger.warn({
      evt: 'tls', selfSigned: true, created: made.created, cert: made.cert,
      sha256: fingerprint(fs.readFileSync(made.cert, 'utf8')),
    }, 'using a self-signed certificate; set tls.cert and tls.key for production');
  }
  const tls = createTlsRegistry({
    defaultPair,
    sni: config.tls.sni,
    reloadIntervalMs: config.tls.reloadIntervalSeconds * 1000,
    logger,
  });

  const authenticator = createAuthenticator({
    mailboxes: store.mailboxes,
    cache: createLoginCache({ ttlMs: config.auth.cacheTtlSeconds * 1000, maxEntries: config.auth.cacheMaxEntries, clock }),
  });
  const enqueuer = createEnqueuer({ queue: store.queue, spool });
  const intake = createIntake({
    spool, enqueuer, clock,
    hostname: config.hostname,
    bareLineEndings: config.smtp.bareLineEndings,
    maxLineLength: config.smtp.maxLineLength,
    maxMessageSize: config.smtp.maxMessageSize,
  });
  const relay = { isHostedDomain: async (d: string) => (await store.domains.get(d)) !== null };

  const listeners = config.listeners.map((l) =>
    createListener(l, {
      hostname: config.hostname, tls, authenticator, relay, intake, logger, clock,
      maxMessageSize: config.smtp.maxMessageSize,
      maxRecipients: config.smtp.maxRecipients,
    }),
  );
  const close = async () => {
    await Promise.all(listeners.map((l) => l.close()));
    await enqueuer.drain();
    tls.close();
    await store.close();
  };
  try {
    for (const l of listeners) {
      const addr = await l.listen();
      logger.info({ evt: 'listening', listener: l.name, role: l.config.role, address: addr.address, port: addr.port }, 'listening');
    }
  } catch (err) {
    await close();
    throw err;
  }
  return { listeners, store, close };
}
