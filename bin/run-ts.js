#!/usr/bin/env node
// Runs one TypeScript file of this project (benchmarks, scripts) through tsx.
import { register } from 'tsx/esm/api';
import { pathToFileURL } from 'node:url';
import path from 'node:path';

register();
const file = process.argv[2];
if (!file) {
  console.error('usage: run-ts.js FILE.ts [ARGS...]');
  process.exit(64);
}
process.argv.splice(2, 1);
await import(pathToFileURL(path.resolve(file)).href);
