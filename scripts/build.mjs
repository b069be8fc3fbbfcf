#!/usr/bin/env node
// Builds what `postern` runs: dist/, one ES module bundle per entry point (the CLI, the sendmail
// command, the SQLite queue writer's thread) with the code they share split into chunks that are
// loaded when a command needs them. Dependencies are bundled too, except native addons: one
// file read instead of hundreds of module look-ups is most of what makes `postern sendmail`
// and the provisioning commands start in a few times a bare `node` start (docs/benchmarks.md).
// Every entry and chunk sits in dist/ itself, so `new URL('./writer-worker.js', import.meta.url)`
// finds the worker from whichever chunk holds the code that starts it. Run by `npm ci`
// (prepare), `npm run build`, and the test runner before the tests.
import { build } from 'esbuild';
import fs from 'node:fs';

const root = new URL('../', import.meta.url);
const out = new URL('dist/', root);
fs.rmSync(out, { recursive: true, force: true });
await build({
  absWorkingDir: root.pathname,
  entryPoints: [
    { in: 'src/admin/cli/index.ts', out: 'cli' },
    { in: 'src/inject/sendmail.ts', out: 'sendmail' },
    { in: 'src/store/sqlite/writer-worker.ts', out: 'writer-worker' },
  ],
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20.19',
  // native addons (and the optional natives some packages try) stay in node_modules
  // and the certificate maker of the first start (its reflect polyfill must be the one it sees)
  external: ['better-sqlite3', 'better-sqlite3-12', '@node-rs/argon2', 'pg-native', 'cpu-features', '@peculiar/x509', 'reflect-metadata'],
  // CommonJS dependencies call require(); in an ES module bundle it comes from createRequire
  banner: { js: "import { createRequire as __posternRequire } from 'node:module'; const require = __posternRequire(import.meta.url);" },
  chunkNames: 'chunk-[hash]',
  legalComments: 'linked',
  minifyWhitespace: !process.env.POSTERN_BUILD_READABLE,
  minifySyntax: true,
  logLevel: 'warning',
});
fs.writeFileSync(new URL('package.json', out), JSON.stringify({ type: 'module', private: true }) + '\n');
