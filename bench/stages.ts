/**
 * `npm run bench -- --stages`: where one delivered message's time goes, stage by stage, at 1
 * and 8 reused connections (2 KiB, STARTTLS + AUTH, delivered to the bench's own sink), without
 * and with RSA-2048 signing. Builds a readable dist/ (esbuild's `// src/...` markers, so a
 * profile's line maps to its source file), runs each cell as `npm run bench -- --e2e
 * --cpu-prof` in a child, sums the spawned Postern's main-thread and writer-thread profiles by
 * stage (bench/lib/stages.ts), and rebuilds the normal dist/ at the end. Counting starts at the
 * first SMTP session (start-up left out); ms per message = time / (warm-up + messages).
 * Options: --conns "1 8", --messages 3000, --size 2048, --sign "off rsa".
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stagesOf, stagesTable, type CpuProfile, type StageSplit } from './lib/stages.ts';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const log = (s: string) => process.stderr.write(`bench: ${s}\n`);
const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(name);
  return i === -1 ? dflt : process.argv[i + 1]!;
};
const conns = arg('--conns', '1 8').split(/[ ,]+/).map(Number);
const messages = Number(arg('--messages', '3000'));
const size = Number(arg('--size', '2048'));
const signs = arg('--sign', 'off rsa').split(/[ ,]+/);
const WARMUP = 50;
const WRITER = 'queue writes: SQLite statements and commits (writer thread; fsync waits included)';

function build(readable: boolean): void {
  const r = spawnSync(process.execPath, [path.join(root, 'scripts/build.mjs')], {
    stdio: 'inherit',
    env: { ...process.env, ...(readable ? { POSTERN_BUILD_READABLE: '1' } : {}) },
  });
  if (r.status !== 0) throw new Error('the build failed');
}

/** When the first SMTP session's code ran (ms from the profile's start): start-up ends there. */
function firstSessionMs(p: CpuProfile): number {
  const smtp = new Set(
    p.nodes.filter((n) => /smtp-server|SMTPConnection|_onCommand/.test(`${n.callFrame.url} ${n.callFrame.functionName}`)).map((n) => n.id),
  );
  let t = 0;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i] ?? 0;
    if (smtp.has(p.samples[i]!)) return t / 1000;
  }
  return 0;
}

interface Cell {
  label: string;
  split: StageSplit;
  messages: number;
  cpu: number | null;
  rate: number | null;
}

function cell(c: number, sign: string): Cell {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'postern-stages-'));
  try {
    const r = spawnSync(
      process.execPath,
      [
        path.join(root, 'bin/run-ts.js'),
        path.join(root, 'bench/submit.ts'),
        '--json',
        '--e2e',
        '--modes',
        'reuse',
        '--conns',
        String(c),
        '--sizes',
        String(size),
        '--messages',
        String(messages),
        '--warmup',
        String(WARMUP),
        '--workers',
        '1',
        '--sign',
        sign,
        '--cpu-prof',
        dir,
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 * 1024 * 1024 },
    );
    if (r.status !== 0) throw new Error(`the bench cell failed (exit ${r.status})`);
    const result = (JSON.parse(r.stdout) as { results: { serverCpuMsPerMsg: number | null; deliveredMsgPerS?: number | null }[] })
      .results[0]!;
    const files = fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.cpuprofile'))
      .sort();
    const main = files.find((f) => /\.0\.\d+\.cpuprofile$/.test(f)); // thread 0: the main thread
    if (!main) throw new Error('no main-thread profile');
    const mainProfile = JSON.parse(fs.readFileSync(path.join(dir, main), 'utf8')) as CpuProfile;
    const skipMs = firstSessionMs(mainProfile);
    const split = stagesOf(mainProfile, { distDir: path.join(root, 'dist'), skipMs });
    for (const f of files.filter((x) => x !== main)) {
      const w = stagesOf(JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as CpuProfile, {
        distDir: path.join(root, 'dist'),
        skipMs,
      });
      split.stages.set(WRITER, (split.stages.get(WRITER) ?? 0) + w.totalUs);
      split.totalUs += w.totalUs;
    }
    const label = `${c} conn${c > 1 ? 's' : ''}${sign === 'off' ? '' : `, ${sign.toUpperCase()} signing`}`;
    return { label, split, messages: messages + WARMUP, cpu: result.serverCpuMsPerMsg, rate: result.deliveredMsgPerS ?? null };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

build(true);
const cells: Cell[] = [];
try {
  for (const sign of signs) {
    for (const c of conns) {
      log(`stages: ${c} connection(s), signing ${sign}`);
      cells.push(cell(c, sign));
    }
  }
} finally {
  build(false);
}
console.log(
  `\nWhere a delivered message's time goes (ms per message; ${size} bytes, reuse, STARTTLS + AUTH, delivered to the bench's sink; V8 CPU profiles of \`postern serve\`, start-up left out; node ${process.version}, load average ${os.loadavg()[0]!.toFixed(1)}):\n`,
);
console.log(stagesTable(cells));
console.log(
  `| process CPU (/proc, all threads and the kernel) | ${cells.map((c) => (c.cpu === null ? '-' : c.cpu.toFixed(3))).join(' | ')} |`,
);
console.log(`| delivered msg/s (profiling slows it) | ${cells.map((c) => (c.rate === null ? '-' : c.rate.toFixed(0))).join(' | ')} |`);
