/** `postern serve` and `postern config check|reference`. */
import type { Command } from 'commander';
import cluster from 'node:cluster';
import type { Config } from '../../config/index.ts';
import { CliExit, type Io } from './output.ts';

/** The server's parts, loaded by `serve` only (every other command starts without them). */
async function serverParts() {
  const [config, supervisor, observability, app] = await Promise.all([
    import('../../config/index.ts'),
    import('../../supervisor/index.ts'),
    import('../../observability/index.ts'),
    import('../../app/index.ts'),
  ]);
  return {
    ...config,
    ...supervisor,
    ...observability,
    BindError: app.BindError,
    WebBindError: app.WebBindError,
    startServer: app.startServer,
  };
}

export function registerServerCommands(program: Command, io: Io, configFile: () => string | undefined): void {
  program
    .command('serve')
    .description('run the mail server (listeners on the configured ports)')
    .action(async () => {
      const {
        isWorkerProcess,
        WORKER_CONFIG_ENV,
        runWorker,
        createLogger,
        loadConfig,
        checkConfig,
        shortHostname,
        resolveWorkers,
        runPrimary,
        startServer,
        BindError,
        WebBindError,
      } = await serverParts();
      if (isWorkerProcess()) {
        // A worker forked by the supervisor: the prepared configuration comes from it.
        const config = JSON.parse(process.env[WORKER_CONFIG_ENV] ?? '{}') as Config;
        await runWorker(config, createLogger(config.log.level).child({ worker: cluster.worker?.id }));
        return;
      }
      const { config, source } = loadConfig(configFile());
      const logger = createLogger(config.log.level);
      const found = checkConfig(config);
      if (found.errors.length) {
        io.err(`postern: ${source ?? 'embedded defaults'}: cannot start:`);
        for (const e of found.errors) io.err(`  - ${e.key}: ${e.message}`);
        throw new CliExit(78);
      }
      const shortName = shortHostname(config.hostname);
      if (shortName) logger.warn({ evt: 'hostname', hostname: config.hostname }, `hostname: ${shortName}`);
      const workers = resolveWorkers(config.workers);
      logger.info({ evt: 'start', config: source ?? '(embedded defaults)', pid: process.pid, workers }, 'starting Postern');
      if (workers > 1) {
        let fatal: string | null = null;
        await runPrimary(config, workers, logger, (message) => {
          fatal ??= message;
        });
        logger.info({ evt: 'stopped' }, 'stopped');
        logger.flush();
        if (fatal) {
          io.err(`postern: ${fatal}`);
          throw new CliExit(1);
        }
        return;
      }
      let server;
      try {
        server = await startServer(config, { logger });
      } catch (err) {
        logger.flush();
        if (err instanceof BindError || err instanceof WebBindError) {
          io.err(`postern: ${err.message}`);
          throw new CliExit(1);
        }
        throw err;
      }
      logger.info({ evt: 'ready', workers: 1 }, 'listening');
      await new Promise<void>((resolve) => {
        let stopping = false;
        const stop = (signal: string) => {
          if (stopping) return;
          stopping = true;
          logger.info({ evt: 'stop', signal }, 'stopping: no new connections, finishing open sessions');
          server.close().then(resolve, (err) => {
            logger.error({ err: (err as Error).message }, 'error while stopping');
            resolve();
          });
        };
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.once('SIGINT', () => stop('SIGINT'));
      });
      logger.info({ evt: 'stopped' }, 'stopped');
      logger.flush();
      // everything is closed; should a stray handle keep the loop alive, do not hang
      setTimeout(() => process.exit(process.exitCode ?? 0), 2000).unref();
    });

  const config = program.command('config').description('the configuration');
  config
    .command('check')
    .description('validate the configuration and what serve would refuse (files, ports, data folder); every problem with its key path')
    .action(async () => {
      const { loadConfig, checkConfig } = await import('../../config/index.ts');
      let loaded;
      try {
        loaded = loadConfig(configFile());
      } catch (err) {
        if ((err as Error).name === 'ConfigError') {
          io.err((err as Error).message);
          throw new CliExit(78);
        }
        throw err;
      }
      const { source, config: c } = loaded;
      const { errors, warnings } = checkConfig(c);
      const origin = source ?? 'embedded defaults (no --config, $POSTERN_CONFIG, ./postern.yaml or /etc/postern/postern.yaml)';
      io.out(`configuration: ${origin}`);
      io.out(`data folder: ${c.dataDir}${c.store.kind === 'sqlite' ? ` (store ${c.store.path})` : ' (store: PostgreSQL)'}`);
      io.out(`hostname: ${c.hostname}`);
      const { daneStatusOf } = await import('../../delivery/index.ts');
      io.out(daneStatusOf(c).why);
      for (const w of warnings) io.err(`warning: ${w.key}: ${w.message}`);
      if (errors.length) {
        io.err(`${source ?? 'embedded defaults'}: ${errors.length} problem(s) serve would refuse:`);
        for (const e of errors) io.err(`  - ${e.key}: ${e.message}`);
        throw new CliExit(78);
      }
      io.out(
        `${source ?? 'embedded defaults'}: ok (${c.listeners.length} listener(s): ${c.listeners.map((l) => `${l.role}:${l.port}`).join(', ')})`,
      );
    });
  config
    .command('reference')
    .description('print the configuration reference (Markdown)')
    .action(async () => {
      const { renderConfigReference } = await import('../../config/index.ts');
      io.out(renderConfigReference());
    });
}
