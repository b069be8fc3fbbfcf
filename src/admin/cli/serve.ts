/** `postern serve` and `postern config check|reference`. */
import type { Command } from 'commander';
import { loadConfig, ConfigError, renderConfigReference } from '../../config/index.ts';
import { createLogger } from '../../observability/index.ts';
import { BindError } from '../../listener/index.ts';
import { startServer } from '../../server.ts';
import { CliExit, type Io } from './output.ts';

export function registerServerCommands(program: Command, io: Io, configFile: () => string | undefined): void {
  program.command('serve').description('run the mail server (listeners on the configured ports)').action(async () => {
    const { config, source } = loadConfig(configFile());
    const logger = createLogger(config.log.level);
    logger.info({ evt: 'start', config: source ?? '(embedded defaults)', pid: process.pid }, 'starting Postern');
    let server;
    try {
      server = await startServer(config, { logger });
    } catch (err) {
      logger.flush();
      if (err instanceof BindError) {
        io.err(`postern: ${err.message}`);
        process.exit(1);
      }
      throw err;
    }
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
  });

  const config = program.command('config').description('the configuration');
  config.command('check').description('validate the configuration and report every error with its key path').action(() => {
    try {
      const { source, config: c } = loadConfig(configFile());
      io.out(`${source ?? 'embedded defaults'}: ok (${c.listeners.length} listener(s): ${c.listeners.map((l) => `${l.role}:${l.port}`).join(', ')})`);
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
