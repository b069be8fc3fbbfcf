/** Runs the real `postern sendmail` (node bin/postern.js sendmail ARGS) with a message on its standard input, as websites call it. */
import { spawn } from 'node:child_process';
import { BIN } from './cli.ts';

export interface SendmailRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runSendmail(tokenFile: string, args: string[], input: string | Buffer, env: NodeJS.ProcessEnv = {}): Promise<SendmailRun> {
  const e: NodeJS.ProcessEnv = { ...process.env, POSTERN_SITE_TOKEN_FILE: tokenFile, ...env };
  delete e.NODE_TEST_CONTEXT;
  delete e.NODE_OPTIONS;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'sendmail', ...args], { env: e, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}
