// What bin/postern.js (built code) and bin/postern-dev.js (the sources, through tsx) share:
// sendmail straight to its module, everything else to the CLI.
import fs from 'node:fs';
import module from 'node:module';
import os from 'node:os';
import path from 'node:path';

/**
 * @param {{ cli: URL, sendmail: URL }} code  the modules: dist/cli.js and dist/sendmail.js, or the sources
 * @param {string} invokedAs  the name the program was called by
 */
export async function main(code, invokedAs) {
  const asSendmail = invokedAs === 'sendmail';
  const sendmail = asSendmail || process.argv[2] === 'sendmail';
  if (!fs.existsSync(code.cli)) {
    process.stderr.write(
      `postern: the built code is missing (${code.cli.pathname}); run \`npm ci\` or \`npm run build\` in the Postern folder\n`,
    );
    process.exitCode = 70;
    return;
  }
  if (sendmail) {
    const { runSendmail } = await import(code.sendmail.href);
    process.exitCode = await runSendmail(process.argv.slice(asSendmail ? 2 : 3), {
      stdin: process.stdin,
      env: process.env,
      err: (line) => process.stderr.write(line + '\n'),
      out: (text) => process.stdout.write(text),
    });
    return;
  }
  // fsync of message bodies runs on libuv's thread pool; 4 threads (the default) would queue
  // the fsyncs of concurrent sessions behind each other. Must be set before the pool starts.
  process.env.UV_THREADPOOL_SIZE ??= '16';
  compileCache();
  const { runCli } = await import(code.cli.href);
  process.exitCode = await runCli(process.argv);
}

/**
 * V8's code cache on disk (Node 22.1 and newer; a no-op before): a later start skips compiling
 * what it loads. Only in a folder of the user's own (never a shared /tmp folder another local
 * user could have made and filled), and not for sendmail, which websites' users run.
 */
function compileCache() {
  if (!module.enableCompileCache || process.env.NODE_DISABLE_COMPILE_CACHE) return;
  if (process.env.NODE_COMPILE_CACHE) return module.enableCompileCache();
  let home = '';
  try {
    home = os.userInfo().homedir;
  } catch {
    return;
  }
  const base = process.env.XDG_CACHE_HOME || (home && path.join(home, '.cache'));
  if (!base) return;
  try {
    const dir = path.join(base, 'postern', 'node-compile-cache');
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (fs.statSync(dir).uid !== process.getuid?.()) return;
    module.enableCompileCache(dir);
  } catch {
    /* a home without a writable cache folder: start without */
  }
}
