/** `postern serve` and `postern config check|reference`. */
import type { Command } from 'commander';
import cluster from 'node:cluster';
import { loadConfig, ConfigError, renderConfigReference, type Config } from '../../config/index.ts';
import { isWorkerProcess, resolveWorkers, runPrimary, runWorker, WORKER_CONFIG_ENV } from '../../supervisor/index.ts';
import { createLogger } from '../../observability/index.ts';
import { BindError } from '../../listener/index.ts';
import { WebBindError } from '../../inject/index.ts';
import { startServer } from '../../server.ts';
import { daneStatusOf } from '../../outbound.ts';
import { CliExit, type Io } from './output.ts';

export function registerServerCommands(program: Command, io: Io, configFile: () => string | undefined): void {
  program.command('serve').description('run the mail server (listeners on the configured ports)').action(async () => {
    if (isWorkerProcess()) {
      // A worker forked by the supervisor: the prepared configuration comes from it.
      const config = JSON.parse(process.env[WORKER_CONFIG_ENV] ?? '{}') as Config;
      await runWorker(config, createLogger(config.log.level).child({ worker: cluster.worker?.id }));
      return;
    }
    const { config, source } = loadConfig(configFile());
    const logger = createLogger(config.log.level);
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
  config.command('check').description('validate the configuration and report every error with its key path').action(() => {
    try {
      const { source, config: c } = loadConfig(configFile());
      io.out(`${source ?? 'embedded defaults'}: ok (${c.listeners.length} listener(s): ${c.listeners.map((l) => `${l.role}:${l.port}`).join(', ')})`);
      io.out(daneStatusOf(c).why);
    } catch (err) {
      if (err instanceof ConfigError) {
        io.err(err.message);
        throw new CliExit(78);
      }
      throw err;
    }
  });
  config.command('reference').description('print the configuration reference (Markdown)').action(() => io.out(renderConfigReference()));
}
