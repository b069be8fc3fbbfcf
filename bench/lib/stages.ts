/**
 * Where one delivered message's CPU goes, by stage of the flow: a V8 .cpuprofile of `postern
 * serve` (main thread, and the SQLite writer's thread) summed by the stage of the code that was
 * running. Each sample is charged to the first frame, from the running function up its stack,
 * whose source file a rule below names (node's own stream and event plumbing is walked through,
 * so a socket write is charged to whoever wrote). Needs a readable build (dist/ with esbuild's
 * `// src/...` file markers: `POSTERN_BUILD_READABLE=1 node scripts/build.mjs`), which
 * `npm run bench -- --stages` makes before and undoes after.
 */
import fs from 'node:fs';
import path from 'node:path';

interface Frame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: Frame;
  children?: number[];
}
export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Stage rules, first match wins: a pattern on the source path (src/..., a package, node:...). */
const RULES: [RegExp, string][] = [
  [/^src\/dkim\/|^mailauth\b/, 'DKIM: body hash, header canonicalisation, signature'],
  [/^src\/intake\/(headers|line-endings|received)|^@zone-eu\/mailsplit|^libmime|^libbase64|^libqp/, 'intake: header rewrite, line endings'],
  [/^src\/scan\//, 'content scan'],
  [/^src\/spool\/|^src\/queue\/enqueue/, 'spool + group commit (this thread)'],
  [/^src\/store\/.*tracking/, 'tracking'],
  [/^src\/store\/sqlite\/writer\b/, 'queue writes: handing to the writer thread'],
  [/^src\/store\/|^better-sqlite3|^pg\b/, 'store reads'],
  [/^src\/intake\//, 'intake: other'],
  [/^src\/queue\/(scheduler|result-hold)/, 'scheduler'],
  [/^src\/queue\/runner|^src\/suppression\/|^src\/app\//, 'runner: decide, log, notices (and app wiring)'],
  [/^src\/bounce\//, 'bounce notices'],
  [/^src\/delivery\/|^nodemailer\b/, 'delivery client (SMTP to the next hop)'],
  [/^src\/(policy|limits|credentials|containment)\/|^@node-rs|^bcryptjs/, 'policy, limits, auth'],
  [/^src\/webhooks\//, 'webhooks'],
  [/^prom-client|^src\/observability\/metrics|^tdigest|^bintrees/, 'metrics'],
  [/^pino\b|^sonic-boom|^thread-stream|^src\/observability\/logger/, 'logging'],
  [/^src\/listener\/|^smtp-server\b|^ipv6-normalize|^punycode/, 'SMTP session (smtp-server, listener)'],
  [/^node:_tls|^node:tls|^node:internal\/tls/, 'TLS (node)'],
];
const NATIVE: Record<string, string> = {
  '(garbage collector)': 'garbage collection',
  '(program)': 'V8/libuv outside JavaScript',
};
const SOCKET_WRITES = new Set(['writeUtf8String', 'writeBuffer', 'writev', 'writeLatin1String', 'writeAsciiString']);

/** Maps a line of a dist/ file to the source it came from, by esbuild's `// path` markers. */
function sourceMap(distDir: string): (file: string, line: number) => string | null {
  const cache = new Map<string, { line: number; src: string }[]>();
  const marks = (file: string) => {
    let m = cache.get(file);
    if (m) return m;
    m = [];
    const p = path.join(distDir, path.basename(file));
    if (fs.existsSync(p)) {
      fs.readFileSync(p, 'utf8')
        .split('\n')
        .forEach((text, i) => {
          const hit = /^\/\/ (src\/\S+|node_modules\/\S+)$/.exec(text);
          if (hit) m!.push({ line: i, src: hit[1]!.replace(/^node_modules\//, '') });
        });
    }
    cache.set(file, m);
    return m;
  };
  return (file, line) => {
    let found: string | null = null;
    for (const mk of marks(file)) {
      if (mk.line > line) break;
      found = mk.src;
    }
    return found;
  };
}

function sourceOf(f: Frame, lookup: ReturnType<typeof sourceMap>): string | null {
  const url = f.url.replace(/^file:\/\//, '');
  if (!url) return null;
  if (url.startsWith('node:')) return url;
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) return url.slice(nm + 'node_modules/'.length);
  if (url.includes('/dist/')) return lookup(url, f.lineNumber);
  const src = url.indexOf('/src/');
  return src >= 0 ? url.slice(src + 1) : null;
}

export interface StageSplit {
  totalUs: number;
  idleUs: number;
  stages: Map<string, number>;
  socketWritesUs: number;
}

/** Sums one profile by stage (samples in the first skipMs are left out: start-up). */
export function stagesOf(p: CpuProfile, opts: { distDir: string; skipMs?: number; thread?: string }): StageSplit {
  const lookup = sourceMap(opts.distDir);
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const stageOfNode = new Map<number, string>();
  const stageOf = (id: number): string => {
    const known = stageOfNode.get(id);
    if (known) return known;
    const n = byId.get(id)!;
    let stage = Object.hasOwn(NATIVE, n.callFrame.functionName) ? NATIVE[n.callFrame.functionName] : undefined;
    if (!stage) {
      const src = sourceOf(n.callFrame, lookup);
      stage = (src && RULES.find(([re]) => re.test(src))?.[1]) || '';
      if (!stage) {
        const up = parent.get(id);
        stage =
          up === undefined || byId.get(up)!.callFrame.functionName === '(root)' ? (opts.thread ?? 'other (node internals)') : stageOf(up);
      }
    }
    stageOfNode.set(id, stage);
    return stage;
  };
  const out: StageSplit = { totalUs: 0, idleUs: 0, stages: new Map(), socketWritesUs: 0 };
  let clock = p.startTime;
  p.samples.forEach((id, i) => {
    const d = p.timeDeltas[i] ?? 0;
    clock += d;
    if (clock - p.startTime < (opts.skipMs ?? 0) * 1000) return;
    const name = byId.get(id)!.callFrame.functionName;
    if (name === '(idle)') {
      out.idleUs += d;
      return;
    }
    out.totalUs += d;
    if (SOCKET_WRITES.has(name)) out.socketWritesUs += d;
    const s = stageOf(id);
    out.stages.set(s, (out.stages.get(s) ?? 0) + d);
  });
  return out;
}

/** A Markdown table of ms per message by stage, one column per profile (same stage rows). */
export function stagesTable(columns: { label: string; split: StageSplit; messages: number }[]): string {
  const names = new Set<string>();
  for (const c of columns) for (const k of c.split.stages.keys()) names.add(k);
  const first = columns[0]!;
  const rows = [...names].sort((a, b) => (first.split.stages.get(b) ?? 0) - (first.split.stages.get(a) ?? 0));
  const ms = (us: number, n: number) => (us / 1000 / n).toFixed(3);
  const lines = [
    `| stage | ${columns.map((c) => `${c.label} ms/msg`).join(' | ')} |`,
    `| --- | ${columns.map(() => '---:').join(' | ')} |`,
    ...rows.map((r) => `| ${r} | ${columns.map((c) => ms(c.split.stages.get(r) ?? 0, c.messages)).join(' | ')} |`),
    `| **all (busy)** | ${columns.map((c) => `**${ms(c.split.totalUs, c.messages)}**`).join(' | ')} |`,
    `| of which socket writes (TLS encrypt + kernel send) | ${columns.map((c) => ms(c.split.socketWritesUs, c.messages)).join(' | ')} |`,
  ];
  return lines.join('\n');
}
