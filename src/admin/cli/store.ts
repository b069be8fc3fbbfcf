/** `postern migrate`: the store's schema, and moving a single-node SQLite install up to PostgreSQL. */
import path from 'node:path';
import type { Command } from 'commander';
import type { Config } from '../../config/index.ts';
import { openStore } from '../../store/index.ts';
import { CliExit, type Io } from './output.ts';

export function registerStoreCommands(program: Command, io: Io, config: () => Config): void {
  program
    .command('migrate')
    .description(
      "bring the store's schema to this version (the server also does it at start); with --from-sqlite copy a single-node install into the PostgreSQL store",
    )
    .option(
      '--from-sqlite <path>',
      'SQLite database of a single-node install (its spool folder beside it): copy everything into the configured PostgreSQL store; stop that server first',
    )
    .option('--spool <dir>', 'the spool folder of that install (default: "spool" beside the database file)')
    .option('--force', 'copy even into a PostgreSQL store that holds data or was filled before: what it holds is replaced')
    .action(async (o: { fromSqlite?: string; spool?: string; force?: boolean }) => {
      const c = config();
      if (o.fromSqlite && c.store.kind !== 'postgres') {
        io.err('postern: --from-sqlite copies into a PostgreSQL store: set store.kind: postgres and store.url first');
        throw new CliExit(64);
      }
      if (!o.fromSqlite) {
        const store = await openStore(c);
        await store.close();
        io.out(`the ${c.store.kind} store is at the newest schema`);
        return;
      }
      const { createPool, migrate } = await import('../../store/postgres/index.ts');
      const { copyFromSqlite, MoveRefused } = await import('../../store/postgres/from-sqlite.ts');
      const pool = createPool({ url: c.store.url!, schema: c.store.schema, applicationName: 'postern migrate' });
      try {
        await migrate(pool, { schema: c.store.schema });
        const file = path.resolve(o.fromSqlite);
        const report = await copyFromSqlite(pool, file, { spoolDir: o.spool && path.resolve(o.spool), force: o.force });
        const t = report.tables;
        io.out(`copied ${file} into PostgreSQL${report.replaced ? ' (replacing what it held)' : ''}:`);
        io.out(
          `  ${t.customers} customers, ${t.domains} domains, ${t.mailboxes} mailboxes, ${t.sender_grants} grants, ${t.sites} sites, ${t.dkim_keys} DKIM keys`,
        );
        io.out(`  ${t.limits} limits, ${t.routes} routes, ${t.ip_bans} bans, ${t.audit} audit records`);
        io.out(
          `  ${t.messages} queued messages (${report.bodiesFromSpool} bodies read from spool files), ${t.recipients} recipients, ${t.attempts} attempts`,
        );
        io.out(`  ${t.tracked_messages} tracked messages with ${t.tracked_events} tracking events`);
        io.out('start the nodes on PostgreSQL; keep the SQLite file and its spool until the queue has drained');
      } catch (err) {
        if (err instanceof MoveRefused) {
          io.err(`postern: ${err.message}`);
          throw new CliExit(1);
        }
        throw err;
      } finally {
        await pool.end();
      }
    });
}
