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
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { writeDrop } from './drop.ts';
import { EX, exitCodeOf, type Problem } from './problem.ts';
import { messageOf, parseSendmailArgs, UsageError, type SendmailArgs } from './sendmail-args.ts';

// node:http through require, not import: on Node 24 an ES import of node:http evaluates every
// export, the lazy ones too, and costs a website's sendmail call 17 MB more (measured).
const http = createRequire(import.meta.url)('node:http') as typeof import('node:http');

export interface SendmailIo {
  stdin: AsyncIterable<Buffer | string>;
  err(line: string): void;
  /** Standard output (the SMTP replies of -bs). */
  out(text: string): void;
  env: NodeJS.ProcessEnv;
}

interface Where {
  token: string;
  socket: string;
  dropDir: string;
}

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
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

async function locate(args: SendmailArgs, env: NodeJS.ProcessEnv): Promise<Where> {
  let home = '';
  try {
    home = os.userInfo().homedir;
  } catch {
    /* no passwd entry */
  }
  const file = args.tokenFile ?? env.POSTERN_SITE_TOKEN_FILE ?? (home ? path.join(home, TOKEN_FILE_NAME) : '');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new Fail(
      EX.CONFIG,
      `no site token: cannot read ${file || `~/${TOKEN_FILE_NAME}`} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); set POSTERN_SITE_TOKEN_FILE or ask your provider`,
    );
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

/**
 * unreachable: the request never reached the server (no socket, refused): the drop folder is
 * safe. lost: it may have reached it (no answer, reset, an answer that makes no sense): the
 * server may have queued it, so it is not dropped (that could send it twice) but deferred.
 */
type Queued = { id: string; status: string; refused?: { address: string; smtp: string }[] };
type Reply = { kind: 'ok'; body: Queued } | { kind: 'problem'; problem: Problem } | { kind: 'unreachable' | 'lost'; why: string };

const NOT_REACHED = new Set(['ENOENT', 'ECONNREFUSED', 'EACCES', 'ENOTSOCK', 'EPERM']);

function post(where: Where, args: Envelope, message: Buffer): Promise<Reply> {
  const q = new URLSearchParams();
  if (args.from !== null) q.set('from', args.from);
  for (const r of args.recipients) q.append('to', r);
  if (args.extract) q.set('extract', '1');
  if (args.fullName !== null) q.set('fullName', args.fullName);
  return new Promise((resolve) => {
    const req = http.request(
      {
        socketPath: where.socket,
        method: 'POST',
        path: `/api/v1/messages?${q}`,
        timeout: 120_000,
        headers: { authorization: `Bearer ${where.token}`, 'content-type': 'message/rfc822', 'content-length': message.length },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (err) => resolve({ kind: 'lost', why: err.message }));
        res.on('end', () => {
          let body: unknown;
          try {
            body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            body = null;
          }
          if (res.statusCode === 202 && body) return resolve({ kind: 'ok', body: body as Queued });
          const p = body as Problem | null;
          if (!p || typeof p.status !== 'number') return resolve({ kind: 'lost', why: `unexpected answer ${res.statusCode}` });
          resolve({ kind: 'problem', problem: p });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('no answer within 120 s')));
    req.on('error', (err: NodeJS.ErrnoException) =>
      resolve({ kind: err.code && NOT_REACHED.has(err.code) ? 'unreachable' : 'lost', why: err.code ?? err.message }),
    );
    req.end(message);
  });
}

/** What became of one message: queued, kept in the drop folder, or refused (exit code, SMTP reply). */
type Outcome =
  | { kind: 'queued'; id: string; status: string; refused: { address: string; smtp: string }[] }
  | { kind: 'dropped'; name: string; why: string }
  | { kind: 'refused'; code: number; line: string; smtp: string };

type Envelope = Pick<SendmailArgs, 'from' | 'recipients' | 'extract' | 'fullName'>;

/** Hands one message to the server, or to the drop folder when the server cannot take it now. */
async function submit(where: Where, env: Envelope, message: Buffer): Promise<Outcome> {
  const reply = await post(where, env, message);
  if (reply.kind === 'ok')
    return {
      kind: 'queued',
      id: reply.body.id,
      status: reply.body.status,
      refused: Array.isArray(reply.body.refused) ? reply.body.refused : [],
    };
  if (reply.kind === 'lost') {
    const line = `no answer from the server (${reply.why}); the message may or may not have been queued: try again later`;
    return { kind: 'refused', code: EX.TEMPFAIL, line, smtp: `451 4.4.1 ${line}` };
  }
  if (reply.kind === 'problem' && reply.problem.reason !== 'unavailable') {
    const p = reply.problem;
    const smtp = p.smtp ?? `${p.status >= 500 || p.status === 429 ? 451 : 550} ${p.status === 429 ? '4.7.1' : '5.7.0'} ${p.detail}`;
    return {
      kind: 'refused',
      code: exitCodeOf(p),
      line: `${p.detail}${p.smtp ? ` (${p.smtp.split(' ').slice(0, 2).join(' ')})` : ''}`,
      smtp,
    };
  }
  // the server is down, restarting or cannot store: the drop folder keeps the message
  const why = reply.kind === 'problem' ? reply.problem.detail : reply.why;
  try {
    const name = writeDrop(
      where.dropDir,
      {
        token: where.token,
        from: env.from,
        to: env.recipients,
        extract: env.extract || !env.recipients.length,
        fullName: env.fullName,
        at: Date.now(),
      },
      message,
    );
    return { kind: 'dropped', name, why };
  } catch (err) {
    const line = `server not reachable (${why}) and cannot write to the drop folder ${where.dropDir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
    return { kind: 'refused', code: EX.TEMPFAIL, line, smtp: `451 4.3.0 ${line}` };
  }
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
    if (args.mode === 'smtp') {
      const { runStdioSmtp } = await import('./sendmail-smtp.ts');
      const clean = await runStdioSmtp({
        input: io.stdin,
        write: io.out,
        hostname: os.hostname(),
        async submit(e) {
          const o = await submit(
            where,
            { from: e.from === '' ? '<>' : e.from, recipients: e.to, extract: false, fullName: args.fullName },
            e.message,
          );
          if (o.kind === 'queued') return `250 2.0.0 Ok: ${o.status} as ${o.id}`;
          if (o.kind === 'dropped') return `250 2.0.0 Ok: kept in the drop folder as ${o.name}`;
          return o.smtp.replace(/[\r\n]+/g, ' ');
        },
      });
      return clean ? EX.OK : EX.DATAERR;
    }
    const chunks: Buffer[] = [];
    for await (const c of io.stdin) chunks.push(typeof c === 'string' ? Buffer.from(c) : c);
    const message = messageOf(Buffer.concat(chunks), args.ignoreDots);
    if (!message.length) throw new Fail(EX.DATAERR, 'the message is empty');
    const o = await submit(where, args, message);
    if (o.kind === 'refused') throw new Fail(o.code, o.line);
    // recipients left out (suppressed): the others got the message
    if (o.kind === 'queued') for (const r of o.refused) io.err(`postern sendmail: <${r.address}> not sent: ${r.smtp}`);
    if (args.verbose) {
      io.err(
        o.kind === 'queued'
          ? `postern sendmail: ${o.status} as ${o.id}`
          : `postern sendmail: server not reachable (${o.why}); kept in the drop folder as ${o.name}`,
      );
    }
    return EX.OK;
  } catch (err) {
    if (err instanceof Fail) {
      io.err(`postern sendmail: ${err.message}`);
      return err.code;
    }
    io.err(`postern sendmail: ${(err as Error).message}`);
    return EX.SOFTWARE;
  }
}
