/**
 * The folder rules of src/, checked by reading every import as text (TypeScript's own
 * pre-parser, so an import written inside a string or a comment is never taken for one, and a
 * dynamic import() counts like a static one). A unit is a top-level folder of src/, or a folder
 * below one whose index.ts has an Imports line of its own (admin/api, admin/ui, admin/cli).
 * The rules, each a Violation with a stable key:
 *   loose    a source file directly in src/, outside every folder;
 *   door     a top-level folder without an index.ts;
 *   imports  a unit whose index.ts has no ` * Imports: a, b.` (or ` * Imports: nothing.`) line;
 *   unknown  an Imports line naming a unit that does not exist;
 *   reach    a file importing another top-level folder's file past its index.ts (any index.ts
 *            of that folder is a door: store/sqlite/index.ts, admin/api/index.ts);
 *   arrow    a file importing a unit its own unit's Imports line does not name;
 *   outside  a source file importing something outside src/;
 *   cycle    units that import each other, through any chain (the real imports);
 *   declared a cycle among the Imports lines themselves.
 * Test code (as the caller says) is never checked: tests assemble real parts on purpose.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const ts = createRequire(import.meta.url)('typescript') as typeof import('typescript');

export interface SourceFile {
  /** Relative to the repository, with forward slashes: 'src/queue/enqueue.ts'. */
  path: string;
  text: string;
}

export type Rule = 'loose' | 'door' | 'imports' | 'unknown' | 'reach' | 'arrow' | 'outside' | 'cycle' | 'declared';

export interface Violation {
  rule: Rule;
  /** Stable across line moves: what a list of known exceptions names. */
  key: string;
  /** file:line: what is wrong, for a person. */
  message: string;
}

export interface BoundaryOptions {
  /** Files never checked as importers (tests and their helpers). */
  isTestCode: (file: string) => boolean;
  /** Imports lines of top-level folders that have no index.ts to hold one. */
  declared?: Readonly<Record<string, string>>;
}

interface Import {
  file: string;
  line: number;
  spec: string;
  target: string;
}

const IMPORTS_LINE = /^[ \t]*\*[ \t]*Imports:[ \t]*(.*?)[ \t]*$/m;

/** The names an Imports line allows, or null when the top comment has none. */
export function parseImportsLine(indexText: string): string[] | null {
  const top = /^\s*\/\*([\s\S]*?)\*\//.exec(indexText);
  const found = top && IMPORTS_LINE.exec(top[1]!);
  return found ? parseNames(found[1]!) : null;
}

function parseNames(value: string): string[] {
  const list = value.replace(/\.$/, '').trim();
  return list === 'nothing' ? [] : list.split(/\s*,\s*/).filter(Boolean);
}

/** Every .ts file under root/src, read. */
export function readSources(root: string): SourceFile[] {
  const out: SourceFile[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
      const rel = `${dir}/${e.name}`;
      if (e.isDirectory()) walk(rel);
      else if (e.name.endsWith('.ts')) out.push({ path: rel, text: fs.readFileSync(path.join(root, rel), 'utf8') });
    }
  };
  walk('src');
  return out.sort((a, b) => a.path.localeCompare(b.path));
}

const topOf = (file: string): string | null => {
  const parts = file.split('/');
  return parts.length > 2 ? parts[1]! : null;
};

function importsOf(file: SourceFile): Import[] {
  const starts = lineStarts(file.text);
  return ts
    .preProcessFile(file.text, true, true)
    .importedFiles.filter((i) => i.fileName.startsWith('.'))
    .map((i) => ({
      file: file.path,
      line: lineOf(starts, i.pos),
      spec: i.fileName,
      target: path.posix.normalize(path.posix.join(path.posix.dirname(file.path), i.fileName)),
    }));
}

function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return starts;
}

function lineOf(starts: number[], pos: number): number {
  let line = 0;
  while (line + 1 < starts.length && starts[line + 1]! <= pos) line++;
  return line + 1;
}

/** The units of the tree: each with its declared imports (null: none declared). */
function unitsOf(files: SourceFile[], opts: BoundaryOptions): Map<string, string[] | null> {
  const units = new Map<string, string[] | null>();
  for (const f of files) {
    const top = topOf(f.path);
    if (top && !units.has(top)) units.set(top, opts.declared?.[top] === undefined ? null : parseNames(opts.declared[top]!));
  }
  for (const f of files) {
    if (!f.path.endsWith('/index.ts') || !topOf(f.path)) continue;
    const folder = f.path.slice('src/'.length, -'/index.ts'.length);
    const names = parseImportsLine(f.text);
    if (folder.includes('/') && names === null) continue;
    units.set(folder, names);
  }
  return units;
}

/** The unit a file belongs to: its deepest unit folder; a loose file is a unit of its own. */
function unitOfFile(units: Map<string, unknown>, file: string): string {
  const rel = file.slice('src/'.length);
  let dir = path.posix.dirname(rel);
  while (dir !== '.') {
    if (units.has(dir)) return dir;
    dir = path.posix.dirname(dir);
  }
  return rel;
}

export function checkBoundaries(files: SourceFile[], opts: BoundaryOptions): Violation[] {
  const units = unitsOf(files, opts);
  const out: Violation[] = [
    ...structureOf(
      files.filter((f) => !opts.isTestCode(f.path)),
      units,
    ),
  ];
  const edges = new Map<string, Map<string, Import>>();
  for (const f of files) {
    if (!f.path.startsWith('src/') || opts.isTestCode(f.path)) continue;
    for (const imp of importsOf(f)) {
      const v = importViolations(units, imp);
      out.push(...v);
      if (!imp.target.startsWith('src/')) continue;
      const [from, to] = [unitOfFile(units, imp.file), unitOfFile(units, imp.target)];
      if (from === to) continue;
      const m = edges.get(from) ?? new Map<string, Import>();
      if (!m.has(to)) m.set(to, imp);
      edges.set(from, m);
    }
  }
  out.push(...cyclesOf(edges));
  out.push(...declaredCyclesOf(units));
  return out;
}

function structureOf(files: SourceFile[], units: Map<string, string[] | null>): Violation[] {
  const out: Violation[] = [];
  const indexes = new Set(files.map((f) => f.path));
  for (const f of files) {
    if (!topOf(f.path) && f.path.startsWith('src/')) {
      out.push({ rule: 'loose', key: `loose ${f.path}`, message: `${f.path}: lives outside every folder of src/` });
    }
  }
  for (const [unit, names] of units) {
    if (!unit.includes('/') && !indexes.has(`src/${unit}/index.ts`)) {
      out.push({ rule: 'door', key: `door ${unit}`, message: `src/${unit}/: has no index.ts (no door, no top comment)` });
    }
    if (names === null) {
      out.push({ rule: 'imports', key: `imports ${unit}`, message: `src/${unit}/index.ts: its top comment has no " * Imports: ..." line` });
    }
    for (const n of names ?? []) {
      if (!units.has(n))
        out.push({
          rule: 'unknown',
          key: `unknown ${unit} ${n}`,
          message: `src/${unit}/index.ts: Imports names ${n}/, which is no unit of src/`,
        });
    }
  }
  return out;
}

function importViolations(units: Map<string, string[] | null>, imp: Import): Violation[] {
  const at = `${imp.file}:${imp.line}`;
  if (!imp.target.startsWith('src/')) {
    return [{ rule: 'outside', key: `outside ${imp.file} -> ${imp.target}`, message: `${at}: imports ${imp.spec}, outside src/` }];
  }
  const fromTop = topOf(imp.file);
  if (!fromTop) return []; // a loose file is reported once as loose
  const out: Violation[] = [];
  const toTop = topOf(imp.target);
  if (toTop && toTop !== fromTop && path.posix.basename(imp.target) !== 'index.ts') {
    out.push({
      rule: 'reach',
      key: `reach ${imp.file} -> ${imp.target}`,
      message: `${at}: reaches past ${toTop}/index.ts into ${imp.spec}`,
    });
  }
  const [from, to] = [unitOfFile(units, imp.file), unitOfFile(units, imp.target)];
  const allowed = units.get(from) ?? [];
  if (from !== to && !allowed.includes(to)) {
    const line = allowed.length ? allowed.join(', ') : 'nothing';
    out.push({
      rule: 'arrow',
      key: `arrow ${imp.file} -> ${to}`,
      message: `${at}: ${from}/ imports ${to} (${imp.spec}); its Imports line allows ${line}`,
    });
  }
  return out;
}

function cyclesOf(edges: Map<string, Map<string, Import>>): Violation[] {
  return componentsOf(new Map([...edges].map(([k, m]) => [k, [...m.keys()]]))).map((members) => {
    const inside = new Set(members);
    const arrows = members.flatMap((from) =>
      [...(edges.get(from) ?? new Map<string, Import>())]
        .filter(([to]) => inside.has(to))
        .map(([to, imp]) => `${from} -> ${to} (${imp.file}:${imp.line})`),
    );
    return { rule: 'cycle', key: `cycle ${members.join(' ')}`, message: `a cycle between ${members.join(', ')}: ${arrows.join('; ')}` };
  });
}

function declaredCyclesOf(units: Map<string, string[] | null>): Violation[] {
  const graph = new Map([...units].map(([k, names]) => [k, (names ?? []).filter((n) => units.has(n))]));
  return componentsOf(graph).map((members) => ({
    rule: 'declared',
    key: `declared ${members.join(' ')}`,
    message: `the Imports lines of ${members.join(', ')} allow each other, in a circle`,
  }));
}

/** Strongly connected components of more than one node (Tarjan), each sorted. */
export function componentsOf(graph: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string) => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const members: string[] = [];
    for (let w = stack.pop()!; ; w = stack.pop()!) {
      onStack.delete(w);
      members.push(w);
      if (w === v) break;
    }
    if (members.length > 1) out.push(members.sort());
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return out.sort((a, b) => a.join().localeCompare(b.join()));
}
