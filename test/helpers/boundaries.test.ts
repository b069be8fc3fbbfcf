/** The boundary checker on small made-up trees: each rule fires, and only where it should. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type BoundaryOptions, checkBoundaries, componentsOf, parseImportsLine, type SourceFile } from './boundaries.ts';

const index = (owns: string, imports: string, body = '') => `/**\n * ${owns}\n * Imports: ${imports}\n */\n${body}`;
const opts: BoundaryOptions = { isTestCode: (f: string) => f.endsWith('.test.ts') };
const keysOf = (files: SourceFile[], o = opts) =>
  checkBoundaries(files, o)
    .map((v) => v.key)
    .sort();

/** core <- store <- queue, each through its index.ts. */
const clean = (): SourceFile[] => [
  { path: 'src/core/index.ts', text: index('core/', 'nothing.', "export * from './ids.ts';\n") },
  { path: 'src/core/ids.ts', text: 'export const id = 1;\n' },
  { path: 'src/store/index.ts', text: index('store/', 'core.', "export * from './types.ts';\n") },
  { path: 'src/store/types.ts', text: "import type { id } from '../core/index.ts';\nexport type T = typeof id;\n" },
  { path: 'src/queue/index.ts', text: index('queue/', 'core, store.', "export * from './run.ts';\n") },
  { path: 'src/queue/run.ts', text: "import type { T } from '../store/index.ts';\nexport const run = (t: T) => t;\n" },
];

const put = (files: SourceFile[], p: string, text: string) => [...files.filter((f) => f.path !== p), { path: p, text }];

test('a tree that keeps the rules passes', () => {
  assert.deepEqual(keysOf(clean()), []);
});

test('an upward arrow and a deep reach fail, with file, line and the rule broken', () => {
  let files = put(clean(), 'src/core/ids.ts', "// ids\nimport { run } from '../queue/index.ts';\nexport const id = 1;\n");
  files = put(files, 'src/queue/run.ts', "import type { T } from '../store/types.ts';\nexport const run = (t: T) => t;\n");
  const found = checkBoundaries(files, opts);
  assert.deepEqual(found.map((v) => v.key).sort(), [
    'arrow src/core/ids.ts -> queue',
    'cycle core queue store',
    'reach src/queue/run.ts -> src/store/types.ts',
  ]);
  const up = found.find((v) => v.rule === 'arrow')!;
  assert.match(up.message, /^src\/core\/ids\.ts:2: core\/ imports queue \(\.\.\/queue\/index\.ts\); its Imports line allows nothing$/);
  const reach = found.find((v) => v.rule === 'reach')!;
  assert.match(reach.message, /^src\/queue\/run\.ts:1: reaches past store\/index\.ts into \.\.\/store\/types\.ts$/);
  assert.match(found.find((v) => v.rule === 'cycle')!.message, /core -> queue \(src\/core\/ids\.ts:2\)/);
});

test('dynamic import() counts; imports written in strings or comments do not', () => {
  const text = [
    'const s = "import x from \'../queue/index.ts\'";',
    "// import y from '../queue/index.ts';",
    "export const later = () => import('../queue/index.ts');",
  ].join('\n');
  assert.deepEqual(keysOf(put(clean(), 'src/store/types.ts', text)), ['arrow src/store/types.ts -> queue', 'cycle queue store']);
});

test('tests may import anything; a file outside every folder, or importing outside src/, fails', () => {
  let files = put(clean(), 'src/core/ids.test.ts', "import '../queue/run.ts';\nimport '../../test/helpers/x.ts';\n");
  files = put(files, 'src/server.ts', "import '../test/helpers/x.ts';\n");
  files = put(files, 'src/store/types.ts', "import '../../test/helpers/x.ts';\n");
  assert.deepEqual(keysOf(files), [
    'loose src/server.ts',
    'outside src/server.ts -> test/helpers/x.ts',
    'outside src/store/types.ts -> test/helpers/x.ts',
  ]);
});

test('a folder without index.ts, without an Imports line, or naming an unknown folder fails; its declaration may come from the options', () => {
  let files = put(clean(), 'src/queue/index.ts', "/** queue/: no line here */\nexport * from './run.ts';\n");
  files = put(files, 'src/store/index.ts', index('store/', 'core, kore.'));
  files = put(files, 'src/admin/service.ts', "import '../store/index.ts';\n");
  assert.deepEqual(keysOf(files), [
    'arrow src/admin/service.ts -> store',
    'arrow src/queue/run.ts -> store',
    'door admin',
    'imports admin',
    'imports queue',
    'unknown store kore',
  ]);
  assert.deepEqual(
    keysOf(files, { ...opts, declared: { admin: 'store.' } }).filter((k) => k.includes('admin')),
    ['door admin'],
  );
});

test('a subfolder with its own Imports line is a unit of its own, and any index.ts of a folder is a door', () => {
  let files = put(
    clean(),
    'src/admin/api/index.ts',
    index('admin/api', 'core, queue.', "import '../../queue/index.ts';\nimport '../../store/index.ts';\n"),
  );
  files = put(files, 'src/admin/index.ts', index('admin/', 'store.', "import './api/index.ts';\n"));
  files = put(files, 'src/store/sqlite/index.ts', '/** sqlite/: no Imports line: part of store/ */\n');
  files = put(files, 'src/queue/run.ts', "import '../store/sqlite/index.ts';\n");
  assert.deepEqual(keysOf(files), ['arrow src/admin/api/index.ts -> store', 'arrow src/admin/index.ts -> admin/api']);
});

test('Imports lines that allow each other in a circle fail even before code uses them', () => {
  const files = put(clean(), 'src/core/index.ts', index('core/', 'queue.'));
  assert.deepEqual(keysOf(files), ['declared core queue store']);
});

test('the Imports line: a list, "nothing", or absent', () => {
  assert.deepEqual(parseImportsLine(index('x/', 'core, store.')), ['core', 'store']);
  assert.deepEqual(parseImportsLine(index('x/', 'nothing.')), []);
  assert.equal(parseImportsLine('/** x/: owns */\n// * Imports: core.\n'), null);
  assert.equal(parseImportsLine('export const x = 1;\n/**\n * Imports: core.\n */\n'), null);
});

test('components: only cycles of two or more, each sorted', () => {
  const g = new Map([
    ['a', ['b']],
    ['b', ['c', 'a']],
    ['c', ['d']],
    ['d', ['c']],
    ['e', ['a']],
  ]);
  assert.deepEqual(componentsOf(g), [
    ['a', 'b'],
    ['c', 'd'],
  ]);
});
