/**
 * Summarises a V8 .cpuprofile (from `npm run bench -- --cpu-prof DIR`): the functions with the
 * most self time, the most inclusive time, and self time grouped by package/file.
 * usage: node bin/run-ts.js bench/profile-top.ts FILE.cpuprofile [--top N] [--per N] [--skip-ms MS]
 *   --per N       also show each figure as ms per message for N messages
 *   --skip-ms MS  ignore the first MS milliseconds (start-up, module loading)
 *   --callers F   also list the call paths (4 frames up) that lead to functions named F
 */
import fs from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
  hitCount?: number;
}
interface Profile {
  nodes: Node[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const args = process.argv.slice(2);
const file = args.find((a) => !a.startsWith('--'));
if (!file) {
  console.error('usage: profile-top.ts FILE.cpuprofile [--top N] [--per MESSAGES]');
  process.exit(64);
}
const opt = (k: string, d: number) => {
  const i = args.indexOf(k);
  return i >= 0 ? Number(args[i + 1]) : d;
};
const top = opt('--top', 25);
const callersOf = args.includes('--callers') ? args[args.indexOf('--callers') + 1] : null;
const per = opt('--per', 0);
const skipMs = opt('--skip-ms', 0);
const p = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;

const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const selfUs = new Map<number, number>();
let clock = p.startTime;
let counted = 0;
p.samples.forEach((id, i) => {
  const d = p.timeDeltas[i] ?? 0;
  clock += d;
  if (clock - p.startTime < skipMs * 1000) return;
  counted += d;
  selfUs.set(id, (selfUs.get(id) ?? 0) + d);
});
const totalUs = counted || 1;

const short = (url: string) =>
  url
    .replace(/^file:\/\//, '')
    .replace(/^.*node_modules\//, 'nm:')
    .replace(/^\/work\/main\//, '')
    .replace(/\?.*$/, '') || '(native)';
const nameOf = (n: Node) => `${n.callFrame.functionName || '(anonymous)'} ${short(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
const group = (n: Node) => {
  const u = short(n.callFrame.url);
  if (u.startsWith('nm:'))
    return u
      .slice(3)
      .split('/')
      .slice(0, u.slice(3).startsWith('@') ? 2 : 1)
      .join('/');
  if (u.startsWith('node:')) return u;
  if (u === '(native)') return `(${n.callFrame.functionName || 'native'})`;
  return u.split('/').slice(0, 2).join('/');
};

const selfBy = new Map<string, number>();
const inclBy = new Map<string, number>();
const groupBy = new Map<string, number>();
for (const [id, us] of selfUs) {
  const n = byId.get(id)!;
  selfBy.set(nameOf(n), (selfBy.get(nameOf(n)) ?? 0) + us);
  groupBy.set(group(n), (groupBy.get(group(n)) ?? 0) + us);
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const k = nameOf(byId.get(cur)!);
    if (!seen.has(k)) {
      seen.add(k);
      inclBy.set(k, (inclBy.get(k) ?? 0) + us);
    }
  }
}

const fmt = (us: number) =>
  `${(us / 1000).toFixed(0).padStart(7)} ms ${((100 * us) / totalUs).toFixed(1).padStart(5)}%` +
  (per ? ` ${(us / 1000 / per).toFixed(3).padStart(7)} ms/msg` : '');
const show = (title: string, m: Map<string, number>) => {
  console.log(`\n## ${title}`);
  for (const [k, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${fmt(us)}  ${k}`);
};
console.log(
  `profile ${file}: ${((p.endTime - p.startTime) / 1000).toFixed(0)} ms wall, ${(totalUs / 1000).toFixed(0)} ms counted after --skip-ms ${skipMs}, ${p.samples.length} samples`,
);
show('self time by package/file', groupBy);
show('self time by function', selfBy);
show('inclusive time by function', inclBy);
if (callersOf) {
  const paths = new Map<string, number>();
  for (const [id, us] of selfUs) {
    if (byId.get(id)!.callFrame.functionName !== callersOf) continue;
    const chain: string[] = [];
    for (let cur = parent.get(id); cur !== undefined && chain.length < 4; cur = parent.get(cur)) chain.push(nameOf(byId.get(cur)!));
    const k = chain.join(' < ');
    paths.set(k, (paths.get(k) ?? 0) + us);
  }
  show(`callers of ${callersOf}`, paths);
}
