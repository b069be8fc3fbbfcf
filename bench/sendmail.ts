/**
 * `npm run bench -- --sendmail`: what one call of `postern sendmail` costs a website, and what
 * the provisioning commands cost an operator, each beside a bare `node -e 0` start measured in
 * the same run, in turns (bare, postern, Postfix's sendmail, bare, postern, ...), so that all of
 * them see the same machine. Starts a Postern of its own (delivery off) with a site and its token
 * file; every call hands one message over the socket. Reports p50 / p99 wall time and the peak
 * RSS (GNU time's maximum resident set) of each command, and the ratio of the p50 to the bare
 * start. Postfix's /usr/sbin/sendmail is measured when it is installed (it drops the message into
 * Postfix's maildrop; Postfix need not run, and picks them up when it starts: run it on a test
 * machine, or purge the maildrop after). Loopback only. Flags: --calls N (200), --cli-calls N (40).
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { spawnPostern } from './lib/postern-child.ts';
import { percentile as pct } from './lib/report.ts';

const percentile = (sample: number[], p: number): number => pct(sample, p) ?? NaN;

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const CLI = path.join(ROOT, 'bin', 'postern.js');
const GNU_TIME = '/usr/bin/time';
const POSTFIX_SENDMAIL = '/usr/sbin/sendmail';
const log = (s: string) => process.stderr.write(`bench: ${s}\n`);
const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(name);
  return i === -1 ? dflt : Number(process.argv[i + 1]);
};

interface Run {
  wallMs: number;
  rssMb: number | null;
  code: number | null;
}
interface Command {
  name: string;
  argv: string[];
  env?: NodeJS.ProcessEnv;
  input?: string;
  runs: Run[];
}

/** One run: wall time from spawn to exit; peak RSS from GNU time when it is there. */
function runOnce(c: Command): Promise<Run> {
  const haveTime = fs.existsSync(GNU_TIME);
  const rssFile = haveTime ? path.join(fs.mkdtempSync('/tmp/postern-bench-rss-'), 'rss') : '';
  const argv = haveTime ? [GNU_TIME, '-f', '%M', '-o', rssFile, ...c.argv] : c.argv;
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(argv[0]!, argv.slice(1), { env: c.env ?? process.env, stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const wallMs = performance.now() - t0;
      let rssMb: number | null = null;
      if (haveTime) {
        const kb = Number(fs.readFileSync(rssFile, 'utf8').trim().split('\n').pop());
        fs.rmSync(path.dirname(rssFile), { recursive: true, force: true });
        rssMb = Number.isFinite(kb) ? kb / 1024 : null;
      }
      if (code !== 0) return reject(new Error(`${c.name} exited ${code}: ${stderr.trim()}`));
      resolve({ wallMs, rssMb, code });
    });
    child.stdin.end(c.input ?? '');
  });
}

/** calls rounds; in each, every command once, the order turning by one each round. */
async function inTurns(commands: Command[], calls: number): Promise<void> {
  for (let i = 0; i < calls; i++) {
    for (let j = 0; j < commands.length; j++) {
      const c = commands[(i + j) % commands.length]!;
      c.runs.push(await runOnce(c));
    }
  }
}

function rows(commands: Command[], bare: Command): string[] {
  const p50 = (c: Command) =>
    percentile(
      c.runs.map((r) => r.wallMs),
      50,
    );
  const out = [
    '| command | calls | p50 ms | p99 ms | p50 / bare node | peak RSS MB p50 (max) |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const c of commands) {
    const rss = c.runs.map((r) => r.rssMb).filter((x): x is number => x !== null);
    const rssText = rss.length ? `${percentile(rss, 50).toFixed(1)} (${Math.max(...rss).toFixed(1)})` : 'n/a';
    out.push(
      `| ${c.name} | ${c.runs.length} | ${p50(c).toFixed(1)} | ${percentile(
        c.runs.map((r) => r.wallMs),
        99,
      ).toFixed(1)} | ${(p50(c) / p50(bare)).toFixed(2)}x | ${rssText} |`,
    );
  }
  return out;
}

async function main(): Promise<number> {
  const calls = arg('--calls', 200);
  const cliCalls = arg('--cli-calls', 40);
  const user = 'web@bench.example';
  const child = await spawnPostern({
    user,
    pass: 'bench-password-1',
    tls: 'starttls',
    maxConns: 8,
    tlsCert: null,
    tlsKey: null,
    cpuProf: null,
    workers: 1,
    delivery: null,
    log,
  });
  try {
    const env = { ...process.env, POSTERN_CONFIG: path.join(child.dir, 'postern.yaml') };
    const tokenFile = path.join(child.dir, 'site-token');
    const made = spawnSync(
      process.execPath,
      [CLI, 'site', 'add', 'shop', '--customer', 'bench', '--send-as', user, '--token-file', tokenFile],
      { env, encoding: 'utf8' },
    );
    if (made.status !== 0) throw new Error(`site add: ${made.stderr}`);
    const message = `From: ${user}\nTo: someone@remote.test\nSubject: order confirmation\n\n${'Thank you for your order.\n'.repeat(40)}`;
    const bare: Command = { name: '`node -e 0` (bare start)', argv: [process.execPath, '-e', '0'], runs: [] };
    const sendmail: Command = {
      name: '`postern sendmail -t -i`',
      argv: [process.execPath, CLI, 'sendmail', '-t', '-i'],
      input: message,
      env: { ...process.env, POSTERN_SITE_TOKEN_FILE: tokenFile },
      runs: [],
    };
    // Postfix's sendmail, not another MTA's: postconf answers for the Postfix that owns it
    const postfix: Command[] =
      fs.existsSync(POSTFIX_SENDMAIL) &&
      /^mail_version = /m.test(spawnSync('postconf', ['mail_version'], { encoding: 'utf8' }).stdout ?? '')
        ? [{ name: 'Postfix `/usr/sbin/sendmail -t -i`', argv: [POSTFIX_SENDMAIL, '-t', '-i'], input: message, runs: [] }]
        : [];
    if (!postfix.length) log("Postfix's /usr/sbin/sendmail is not installed: measured without it");
    log(`${calls} calls each, in turns: bare node, postern sendmail${postfix.length ? ', Postfix sendmail' : ''}`);
    await inTurns([bare, sendmail, ...postfix], calls);
    const bare2: Command = { ...bare, runs: [] };
    const help: Command = { name: '`postern --help`', argv: [process.execPath, CLI, '--help'], runs: [] };
    const list: Command = { name: '`postern customer list`', argv: [process.execPath, CLI, 'customer', 'list'], env, runs: [] };
    log(`${cliCalls} calls each, in turns: bare node, postern --help, postern customer list`);
    await inTurns([bare2, help, list], cliCalls);
    process.stdout.write(
      [
        '',
        ...rows([bare, sendmail, ...postfix], bare),
        '',
        ...rows([bare2, help, list], bare2),
        '',
        `${new Date().toISOString()}, node ${process.version}; wall = spawn to exit as the bench sees it; RSS = GNU time's maximum resident set of the command`,
        '',
      ].join('\n'),
    );
    return 0;
  } finally {
    await child.stop();
  }
}

process.exitCode = await main();
