#!/usr/bin/env node
// `npm run dev`: the `postern` command on the TypeScript sources through tsx, with no build.
import path from 'node:path';
import { register } from 'tsx/esm/api';
import { main } from './entry.js';

register();
const src = new URL('../src/', import.meta.url);
await main({ cli: new URL('admin/cli/index.ts', src), sendmail: new URL('inject/sendmail.ts', src) }, path.basename(process.argv[1] ?? ''));
