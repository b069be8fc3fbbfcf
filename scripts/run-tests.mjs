#!/usr/bin/env node
// Runs every test file (src/**/*.test.ts and test/**/*.test.ts) with node:test through tsx.
// Builds dist/ first: the integration tests run the real `postern` executable, which runs the
// built code, so they must never test a stale build.
// Node 20's runner does not expand globs, so the list is built here; the run fails when no
// test executed, so a broken file list can never pass silently. `npm test` runs `npm run lint`
// (formatting and lint rules) before this script; a run of this script alone, filtered or not, skips it.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

function find(dir, out = []) {
  if (!fs.existsSync(dir)) return out;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) find(p, out);
    else if (e.name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const filter = process.argv.slice(2);
let files = [...find('src'), ...find('test')].sort();
if (filter.length) files = files.filter((f) => filter.some((x) => f.includes(x)));
if (!files.length) {
  console.error('run-tests: no test files found');
  process.exit(1);
}
const built = spawnSync(process.execPath, [path.join(path.dirname(new URL(import.meta.url).pathname), 'build.mjs')], { stdio: 'inherit' });
if (built.status !== 0) {
  console.error('run-tests: the build failed');
  process.exit(1);
}
const tap = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'postern-tests-')), 'report.tap');
const args = [
  '--import',
  'tsx',
  '--test',
  '--test-concurrency=1',
  '--test-timeout=240000',
  '--test-reporter=spec',
  '--test-reporter-destination=stdout',
  '--test-reporter=tap',
  `--test-reporter-destination=${tap}`,
  ...files,
];
const child = spawn(process.execPath, args, { stdio: 'inherit' });
child.on('exit', (code, signal) => {
  const report = fs.existsSync(tap) ? fs.readFileSync(tap, 'utf8') : '';
  const count = (name) => Number((report.match(new RegExp(`^# ${name} (\\d+)`, 'm')) ?? [])[1] ?? 0);
  const tests = count('tests');
  const pass = count('pass');
  const fail = count('fail');
  const skipped = count('skipped');
  const cancelled = count('cancelled'); // timed out, or a file that crashed
  console.log(`\n${pass} passed, ${fail} failed, ${skipped} skipped${cancelled ? `, ${cancelled} cancelled` : ''}`);
  if (signal) process.exit(1);
  if (tests === 0) {
    console.error('run-tests: zero tests executed; failing the run');
    process.exit(1);
  }
  process.exit(code ?? 1);
});
