/**
 * admin/cli: the `postern` command. Parses the command line, opens the store through the
 * configuration, calls the admin service and prints. Fails with one line on stderr and a
 * non-zero exit code; never a stack trace for an operator's mistake.
 */
import os from 'node:os';
import { Command, CommanderError } from 'commander';
import { loadConfig, ConfigError, secretsKeyFile, type Config } from '../../config/index.ts';
import { createSecretBox, loadOrCreateKey } from '../../credentials/index.ts';
import { openStore } from '../../store/index.ts';
import { createAdminService, AdminError, type AdminService } from '../service.ts';
import { dkimAdminOptions } from '../dkim.ts';
import { registerAdminCommands } from './commands.ts';
import { registerServerCommands } from './serve.ts';
import { registerSiteCommands } from './sites.ts';
import { registerDkimCommands } from './dkim.ts';
import { registerProbeCommand } from './probe.ts';
import { registerScanCommands } from './scan.ts';
import { registerStoreCommands } from './store.ts';
import { registerTrackCommands } from './track.ts';
import { registerWebhookCommands } from './webhooks.ts';
import { registerTokenCommands } from './tokens.ts';
import { registerSuppressionCommands } from './suppression.ts';
import { registerPoolCommands } from './pools.ts';
import { processIo, CliExit, type Io } from './output.ts';

/** Who runs the command, for the audit trail: the unix user (and who used sudo). */
function cliActor(): string {
  let user = 'unknown';
  try { user = os.userInfo().username; } catch { /* no passwd entry */ }
  return process.env.SUDO_USER && process.env.SUDO_USER !== user ? `cli:${user} (sudo by ${process.env.SUDO_USER})` : `cli:${user}`;
}

export async function runCli(argv: string[], io: Io = processIo): Promise<number> {
  const program = new Command('postern')
    .description('Postern: authenticated outgoing mail for shared web hosting')
    .option('-c, --config <file>', 'configuration file (default: $POSTERN_CONFIG, then ./postern.yaml)')
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) });

  const config = (): Config => loadConfig(program.opts().config).config;
  const withService = async <T>(fn: (svc: AdminService) => Promise<T>): Promise<T> => {
    const store = await openStore(config());
    try {
      const c = config();
      const secrets = () => createSecretBox(loadOrCreateKey(secretsKeyFile(c)));
      return await fn(createAdminService(store, {
        secrets, actor: cliActor(), dkim: dkimAdminOptions(c, store, secrets, Date.now), webhooks: { allowInsecure: c.webhooks.allowInsecure },
        suppressionDays: c.suppression.days, pools: { pools: c.delivery.pools, defaultPool: c.delivery.defaultPool ?? null },
      }));
    } finally {
      await store.close();
    }
  };
  registerAdminCommands(program, io, withService);
  registerSiteCommands(program, io, withService, config);
  registerDkimCommands(program, io, withService);
  registerProbeCommand(program, io);
  registerScanCommands(program, io, config);
  registerStoreCommands(program, io, config);
  registerTrackCommands(program, io, withService);
  registerWebhookCommands(program, io, withService);
  registerTokenCommands(program, io, withService);
  registerSuppressionCommands(program, io, withService);
  registerPoolCommands(program, io, withService);
  program.command('sendmail').description('drop-in for /usr/sbin/sendmail (-t, -f, -F, -i, -bm ...): hands a message from a website to the server; see docs/sites.md')
    .helpOption(false).allowUnknownOption().allowExcessArguments().argument('[args...]')
    .action(async (args: string[]) => {
      const { runSendmail } = await import('../../inject/sendmail.ts');
      const code = await runSendmail(args, { stdin: process.stdin, env: process.env, err: io.err, out: (s) => process.stdout.write(s) });
      if (code) throw new CliExit(code);
    });
  registerServerCommands(program, io, () => program.opts().config);

  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : err.exitCode || 64;
    if (err instanceof CliExit) {
      if (err.message) io.err(err.message);
      return err.code;
    }
    if (err instanceof ConfigError) {
      io.err(`postern: ${err.message}`);
      return 78; // EX_CONFIG
    }
    if (err instanceof AdminError) {
      io.err(`postern: ${err.message}`);
      return 1;
    }
    io.err(`postern: ${(err as Error).message}`);
    return 1;
  }
}
