/** `postern scan test FILE.eml`: what the content scanner says of a message, and what Postern would do. */
import fs from 'node:fs';
import type { Command } from 'commander';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import type { Config } from '../../config/index.ts';
import { CliExit, type Io, jsonText } from './output.ts';

export function registerScanCommands(program: Command, io: Io, config: () => Config): void {
  const scan = program.command('scan').description('outbound content scanning with rspamd');
  scan
    .command('test <file>')
    .description('send a message file to rspamd as if a mailbox submitted it: verdict, score, rules and the action Postern would take')
    .option('--customer <name>', "use this customer's thresholds")
    .option('--from <address>', 'envelope sender', 'test@localhost')
    .option('--json', 'JSON output')
    .action(async (file: string, o: { customer?: string; from: string; json?: boolean }) => {
      const c = config();
      if (!fs.existsSync(file)) throw new CliExit(66, `postern: scan test: cannot read ${file}`);
      const ctx = {
        queueId: 'scan-test',
        sender: o.from,
        recipients: ['test@localhost'],
        clientIp: '127.0.0.1',
        helo: 'localhost',
        user: o.from,
        customer: o.customer ?? null,
      };
      const { ScanTap, verdictOf } = await import('../../scan/index.ts');
      const tap = new ScanTap({ url: c.scan.url, timeoutMs: c.scan.timeoutSeconds * 1000, maxBytes: c.scan.maxBytes }, ctx);
      await pipeline(
        fs.createReadStream(file),
        tap,
        new Writable({
          write(_c, _e, cb) {
            cb();
          },
        }),
      );
      const outcome = await tap.outcome();
      if (outcome.kind !== 'scanned')
        throw new CliExit(
          69,
          `postern: scan test: ${outcome.kind === 'skipped' ? outcome.why : `rspamd at ${c.scan.url} failed: ${outcome.why}`}`,
        );
      const thresholds = {
        addHeaderScore: c.scan.addHeaderScore,
        holdScore: c.scan.holdScore,
        rejectScore: c.scan.rejectScore,
        ...(o.customer ? c.scan.customers[o.customer] : undefined),
      };
      const v = verdictOf(outcome.result, thresholds);
      const out = {
        rspamd: outcome.result.action,
        score: outcome.result.score,
        symbols: outcome.result.symbols,
        action: v.action,
        virus: v.virus,
        thresholds,
        ms: outcome.ms,
      };
      if (o.json) return io.out(jsonText(out));
      io.out(`score ${out.score.toFixed(2)} (rspamd: ${out.rspamd}), in ${out.ms} ms`);
      io.out(
        `Postern would: ${{ accept: 'accept it', header: 'accept it with X-Spam-Status: Yes', hold: 'hold it for the postmaster', defer: 'defer it (451 4.7.1)', reject: 'refuse it (550 5.7.1)' }[v.action]}${v.virus ? ' (a virus)' : ''}`,
      );
      io.out(`thresholds: header ${thresholds.addHeaderScore}, hold ${thresholds.holdScore}, reject ${thresholds.rejectScore}`);
      io.out(`rules: ${out.symbols.join(', ') || '(none)'}`);
    });
}
