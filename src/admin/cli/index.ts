/**
 * admin/cli: the `postern` command. Parses the command line, opens the store through the
 * configuration, calls the admin service and prints. Fails with one line on stderr and a
 * non-zero exit code; never a stack trace for an operator's mistake.
 * Imports: core, config, observability, credentials, spool, store, dkim, scan, probe, clientsetup, webhooks, listener, inject, delivery, supervisor, admin, app.
 */
import os from 'node:os';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import type { Config } from '../../config/index.ts';
import type { AdminService } from '../service.ts';
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
import { existingStore, loadCliConfig } from './locate.ts';

/** Commands that read the configuration themselves (serve, config check) or not at all. */
const OWN_CONFIG = new Set(['serve', 'config check', 'config reference', 'sendmail', 'probe']);

/** "config check" for the command `config check`. */
function commandPath(c: Command): string {
  const names: string[] = [];
  for (let at: Command | null = c; at?.parent; at = at.parent) names.unshift(at.name());
  return names.join(' ');
}

/** Who runs the command, for the audit trail: the unix user (and who used sudo). */
function cliActor(): string {
  let user = 'unknown';
  try {
    user = os.userInfo().username;
  } catch {
    /* no passwd entry */
  }
  return process.env.SUDO_USER && process.env.SUDO_USER !== user ? `cli:${user} (sudo by ${process.env.SUDO_USER})` : `cli:${user}`;
}

/** The package's version: the nearest package.json named postern above this module (from src/
 *  or from the bundle in dist/). */
export function posternVersion(): string {
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); ; dir = path.dirname(dir)) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'postern' && pkg.version) return pkg.version;
    } catch {
      /* none here */
    }
    if (path.dirname(dir) === dir) return 'unknown';
  }
}

// Every command loads only what it needs: the configuration when its action starts, the store
// and the admin service inside withService, the server only for `serve`. `postern --help` and
// a provisioning call stay a few times a bare `node` start (docs/benchmarks.md).
export async function runCli(argv: string[], io: Io = processIo): Promise<number> {
  const program = new Command('postern')
    .description('Postern: authenticated outgoing mail for shared web hosting')
    .version(posternVersion(), '-V, --version', 'print the version')
    .option('-c, --config <file>', 'configuration file (default: $POSTERN_CONFIG, then ./postern.yaml, then /etc/postern/postern.yaml)')
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) });

  let loaded: Config | null = null;
  program.hook('preAction', async (_program, action) => {
    if (OWN_CONFIG.has(commandPath(action))) return;
    loaded ??= (await loadCliConfig(program.opts().config)).config;
  });
  const config = (): Config => {
    if (!loaded) throw new Error('the configuration is read before a command runs');
    return loaded;
  };
  const withService = async <T>(fn: (svc: AdminService) => Promise<T>): Promise<T> => {
    const c = config();
    const [
      { openStore },
      { createAdminService },
      { dkimAdminOptions },
      { createSecretBox, loadOrCreateKey },
      { secretsKeyFile },
      { endpointGuardOf },
    ] = await Promise.all([
      import('../../store/index.ts'),
      import('../service.ts'),
      import('../dkim.ts'),
      import('../../credentials/index.ts'),
      import('../../config/index.ts'),
      import('../../webhooks/index.ts'),
    ]);
    existingStore(c);
    const store = await openStore(c);
    try {
      const secrets = () => createSecretBox(loadOrCreateKey(secretsKeyFile(c)));
      return await fn(
        createAdminService(store, {
          secrets,
          actor: cliActor(),
          dkim: dkimAdminOptions(c, store, secrets, Date.now),
          webhooks: { allowInsecure: c.webhooks.allowInsecure, guard: endpointGuardOf(c) },
          suppressionDays: c.suppression.days,
          pools: { pools: c.delivery.pools, defaultPool: c.delivery.defaultPool ?? null },
        }),
      );
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
  program
    .command('sendmail')
    .description(
      'drop-in for /usr/sbin/sendmail (-t, -f, -F, -i, -bm ...): hands a message from a website to the server; see docs/sites.md',
    )
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .argument('[args...]')
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
    // matched by name: their modules are loaded only by the commands that can throw them
    const e = err as Error;
    if (process.env.POSTERN_DEBUG) io.err(String(e.stack));
    io.err(`postern: ${e.message}`);
    return e.name === 'ConfigError' ? 78 /* EX_CONFIG */ : 1;
  }
}
