#!/usr/bin/env node
// The `postern` executable: loads the TypeScript sources through tsx (no build step) and
// hands the command line to the CLI.
// fsync of message bodies runs on libuv's thread pool; 4 threads (the default) would queue
// the fsyncs of concurrent sessions behind each other. Must be set before the pool starts.
process.env.UV_THREADPOOL_SIZE ??= '16';
const { register } = await import('tsx/esm/api');

register();
const { runCli } = await import('../src/admin/cli/index.ts');
process.exitCode = await runCli(process.argv);
