/**
 * `postern sendmail`: a drop-in for /usr/sbin/sendmail as PHP's mail() and cron call it. Reads
 * the message on standard input, finds its site from a token file, and hands the message to
 * the running server over the local socket (the send API, site token). When the server cannot
 * be reached it writes the message durably into the drop folder and exits 0: the server takes
 * it in when it is back, under the same policy. Exit codes are sysexits(3); every failure is
 * one line on stderr. Loads only node built-ins (and the config loader only when the token
 * file does not say where the server is), so that a website pays little for each call.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { writeDrop } from './drop.ts';
import { EX, exitCodeOf, type Problem } from './problem.ts';
import { messageOf, parseSendmailArgs, UsageError, type SendmailArgs } from './sendmail-args.ts';

export interface SendmailIo {
  stdin: AsyncIterable<Buffer | string>;
  err(line: string): void;
  env: NodeJS.ProcessEnv;
}

interface Where { token: string; socket: string; dropDir: string }

const TOKEN_FILE_NAME = '.postern-site';

/** key=value lines (# comments), or one bare token line. */
export function parseTokenFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq === -1) out.token ??= line;
    else out[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  return out;
}

/** The token file's text, for `postern site add|rotate-token --token-file`. */
export function tokenFileText(o: { site: string; customer: string; token: string; socket: string; dropDir: string }): string {
  return [
    `# Postern site token of site ${o.site} (customer ${o.customer}). Keep it private: it lets`,
    '# anyone who has it send as this site. Read by `postern sendmail`.',
    `token=${o.token}`,
    `socket=${o.socket}`,
    `dropDir=${o.dropDir}`,
    '',
  ].join('\n');
}

class Fail extends Error {
  constructor(readonly code: number, message: string) { super(message); }
}

async function locate(args: SendmailArgs, env: NodeJS.ProcessEnv): Promise<Where> {
  let home = '';
  try { home = os.userInfo().homedir; } catch { /* no passwd entry */ }
  const file = args.tokenFile ?? env.POSTERN_SITE_TOKEN_FILE ?? (home ? path.join(home, TOKEN_FILE_NAME) : '');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new Fail(EX.CONFIG, `no site token: cannot read ${file || `~/${TOKEN_FILE_NAME}`} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); set POSTERN_SITE_TOKEN_FILE or ask your provider`);
  }
  const kv = parseTokenFile(text);
  if (!kv.token) throw new Fail(EX.CONFIG, `no token in ${file}`);
  let socket = env.POSTERN_SOCKET ?? kv.socket;
  let dropDir = env.POSTERN_DROP_DIR ?? kv.dropDir;
  if (!socket || !dropDir) {
    // the token file does not say where the server is: the server's configuration does
    const { loadConfig, localPaths } = await import('../config/index.ts');
    try {
      const paths = localPaths(loadConfig(undefined, env).config);
      socket ??= paths.socket;
      dropDir ??= paths.dropDir;
    } catch (err) {
      throw new Fail(EX.CONFIG, `cannot tell where the server is: put socket= and dropDir= in ${file} (${(err as Error).message})`);
    }
  }
  return { token: kv.token, socket, dropDir };
}

type Reply = { kind: 'ok'; body: { id: string; status: string } } | { kind: 'problem'; problem: Problem } | { kind: 'unreachable'; why: string };

function post(where: Where, args: SendmailArgs, message: Buffer): Promise<Reply> {
  const q = new URLSearchParams();
  if (args.from !== null) q.set('from', args.from);
  for (const r of args.recipients) q.append('to', r);
  if (args.extract) q.set('extract', '1');
  if (args.fullName !== null) q.set('fullName', args.fullName);
  return new Promise((resolve) => {
    const req = http.request({
      socketPath: where.socket, method: 'POST', path: `/api/v1/messages?${q}`, timeout: 120_000,
      headers: { authorization: `Bearer ${where.token}`, 'content-type': 'message/rfc822', 'content-length': message.length },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (err) => resolve({ kind: 'unreachable', why: err.message }));
      res.on('end', () => {
        let body: unknown;
        try { body = JSON.parse(Buffer.concat(chunks).toString('utf8')); } catch { body = null; }
        if (res.statusCode === 202 && body) return resolve({ kind: 'ok', body: body as { id: string; status: string } });
        const p = body as Problem | null;
        if (!p || typeof p.status !== 'number') return resolve({ kind: 'unreachable', why: `unexpected answer ${res.statusCode}` });
        resolve({ kind: 'problem', problem: p });
      });
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 120 s')));
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ kind: 'unreachable', why: err.code ?? err.message }));
    req.end(message);
  });
}

/** Runs sendmail; resolves with the exit code. */
export async function runSendmail(argv: string[], io: SendmailIo): Promise<number> {
  try {
    let args: SendmailArgs;
    try {
      args = parseSendmailArgs(argv);
    } catch (err) {
      if (err instanceof UsageError) throw new Fail(EX.USAGE, err.message);
      throw err;
    }
    const where = await locate(args, io.env);
    const chunks: Buffer[] = [];
    for await (const c of io.stdin) chunks.push(typeof c === 'string' ? Buffer.from(c) : c);
    const message = messageOf(Buffer.concat(chunks), args.ignoreDots);
    if (!message.length) throw new Fail(EX.DATAERR, 'the message is empty');

    const reply = await post(where, args, message);
    if (reply.kind === 'ok') {
      if (args.verbose) io.err(`postern sendmail: ${reply.body.status} as ${reply.body.id}`);
      return EX.OK;
    }
    if (reply.kind === 'problem' && reply.problem.reason !== 'unavailable') {
      const p = reply.problem;
      throw new Fail(exitCodeOf(p), `${p.detail}${p.smtp ? ` (${p.smtp.split(' ').slice(0, 2).join(' ')})` : ''}`);
    }
    // the server is down, restarting or cannot store: the drop folder keeps the message
    const why = reply.kind === 'unreachable' ? reply.why : reply.problem.detail;
    try {
      const name = writeDrop(where.dropDir, {
        token: where.token, from: args.from, to: args.recipients, extract: args.extract || !args.recipients.length,
        fullName: args.fullName, at: Date.now(),
      }, message);
      if (args.verbose) io.err(`postern sendmail: server not reachable (${why}); kept in the drop folder as ${name}`);
      return EX.OK;
    } catch (err) {
      throw new Fail(EX.TEMPFAIL, `server not reachable (${why}) and cannot write to the drop folder ${where.dropDir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  } catch (err) {
    if (err instanceof Fail) {
      io.err(`postern sendmail: ${err.message}`);
      return err.code;
    }
    io.err(`postern sendmail: ${(err as Error).message}`);
    return EX.SOFTWARE;
  }
}
