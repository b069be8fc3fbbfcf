#!/usr/bin/env node
// The `postern` executable: loads the TypeScript sources through tsx (no build step) and
// hands the command line to the CLI. Called as `postern sendmail ...` (or through a link named
// sendmail, e.g. /usr/sbin/sendmail) it goes straight to the sendmail command, which loads
// only what it needs: websites call it once per message.
import path from 'node:path';

const asSendmail = path.basename(process.argv[1] ?? '') === 'sendmail';
if (!asSendmail && process.argv[2] !== 'sendmail') {
  // fsync of message bodies runs on libuv's thread pool; 4 threads (the default) would queue
  // the fsyncs of concurrent sessions behind each other. Must be set before the pool starts.
  process.env.UV_THREADPOOL_SIZE ??= '16';
}
const { register } = await import('tsx/esm/api');

register();
if (asSendmail || process.argv[2] === 'sendmail') {
  const { runSendmail } = await import('../src/inject/sendmail.ts');
  process.exitCode = await runSendmail(process.argv.slice(asSendmail ? 2 : 3), {
    stdin: process.stdin, env: process.env, err: (line) => process.stderr.write(line + '\n'), out: (text) => process.stdout.write(text),
  });
} else {
  const { runCli } = await import('../src/admin/cli/index.ts');
  process.exitCode = await runCli(process.argv);
}
