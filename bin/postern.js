#!/usr/bin/env node
// The `postern` executable: loads the TypeScript sources through tsx (no build step) and
// hands the command line to the CLI.
import { register } from 'tsx/esm/api';

register();
const { runCli } = await import('../src/admin/cli/index.ts');
process.exitCode = await runCli(process.argv);
