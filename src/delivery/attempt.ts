/**
 * One delivery attempt of one message to the candidate hosts of one destination, on nodemailer's
 * SMTP connection. Hosts are tried in order: a connect failure, or a 4xx (or a dropped or timed
 * out connection) before any recipient was accepted, moves on to the next host. Every recipient
 * ends with an outcome (delivered / deferred / failed) from the classification table, with the
 * remote reply and host. Bounded by timeouts; never throws.
 */
import { Readable } from 'node:stream';
import SMTPConnection from 'nodemailer/lib/smtp-connection/index.js';
import { classifyError, classifyReply, parseReply, type ClassifiableError } from './classify.ts';
import { quitQuietly, type ConnectionPool, type PooledConnection } from './pool.ts';
import { peerChain, verifyDane, type DaneTarget } from './dane.ts';
import { patchDataStream } from './data-stream.ts';

/**
 * localAddress: the source address to bind (the egress pool's); the host's default when absent.
 * dane: the host has DANE TLSA records: TLS is required and the chain must match one of them
 * (no records: TLS required, unauthenticated); a failure defers and the next host is tried.
 */
export interface AttemptTarget {
  host: string;
  port: number;
  name?: string;
  localAddress?: string;
  dane?: DaneTarget;
}

export interface AttemptRecipient {
  address: string;
  notify?: string | null;
  orcpt?: string | null;
}

export interface AttemptRequest {
  /** Our EHLO name. */
  hostname: string;
  /** In order: the next is tried on connect failure or 4xx before any recipient was accepted. */
  targets: AttemptTarget[];
  tls: 'none' | 'opportunistic' | 'required';
  /** '' is the null sender. */
  sender: string;
  recipients: AttemptRecipient[];
  envid?: string | null;
  ret?: 'FULL' | 'HDRS' | null;
  size: number;
  smtputf8Needed: boolean;
  eightBit: boolean;
  /** Log in at the next hop (a route with --auth): only over TLS. */
  auth?: { user: string; pass: string } | null;
  /** A fresh stream of the stored message (CRLF lines, not dot-stuffed). */
  body: () => NodeJS.ReadableStream;
  timeouts?: { connectMs?: number; greetingMs?: number; commandMs?: number; dataMs?: number };
  /**
   * The whole attempt ends by this time (ms since the epoch): no further host is tried and an
   * open connection is closed, so an attempt never outlives the lease of its recipients.
   */
  deadline?: number;
  /** Aborting closes the open connection at once (shutdown). */
  signal?: AbortSignal;
}

export interface RecipientOutcome {
  address: string;
  outcome: 'delivered' | 'deferred' | 'failed';
  category: string;
  reply: string;
  remoteHost: string | null;
  /** Delivered to a next hop that offers DSN: NOTIFY went with it, the next hop reports. */
  dsnPassedOn?: boolean;
}

export interface AttemptResult {
  recipients: RecipientOutcome[];
  log: string[];
}

// the body goes out through nodemailer's DATA transform: by line ends, not byte by byte
patchDataStream();

const DEFAULTS = { connectMs: 30_000, greetingMs: 60_000, commandMs: 60_000, dataMs: 600_000 };
/** Longest reply we accept (RFC 5321 allows 512 octets a line); longer is a protocol error. */
const MAX_RESPONSE = 64 * 1024;
/** Reply text kept in outcomes and the log. */
const MAX_REPLY_TEXT = 512;
const NON_ASCII = /[^\x00-\x7f]/;

type Timeouts = typeof DEFAULTS;

/** Internals of nodemailer's SMTPConnection that are not in its types. */
interface ConnInternals {
  _supportedExtensions: string[];
  _maxAllowedSize: number;
  _recipientQueue?: string[];
  _envelope?: { accepted: string[]; rejected: string[]; rejectedErrors: SmtpErr[] };
  _getDsnRcptToArgs(): string;
  _socket: import('node:net').Socket | false | null;
}

type SmtpErr = Error & ClassifiableError & { command?: string; recipient?: string; rejectedErrors?: SmtpErr[] };

function clip(s: string): string {
  const one = s.replace(/\r?\n/g, ' ').trim();
  return one.length > MAX_REPLY_TEXT ? `${one.slice(0, MAX_REPLY_TEXT)}... (${one.length} bytes)` : one;
}

function remoteOf(t: AttemptTarget): string {
  return `${t.name ?? t.host}[${t.host}]:${t.port}`;
}

function outcomeFromReply(address: string, raw: string, remoteHost: string): RecipientOutcome {
  const p = parseReply(raw);
  const c = p ? classifyReply(p.code, p.enhanced, p.text) : { outcome: 'deferred' as const, category: 'protocol' };
  return { address, ...c, reply: clip(raw), remoteHost };
}

function outcomeFromError(address: string, err: SmtpErr, remoteHost: string): RecipientOutcome {
  const c = classifyError(err);
  const reply = typeof err.response === 'string' && c.category !== 'timeout' ? err.response : err.message;
  return { address, ...c, reply: clip(reply), remoteHost };
}

function synthetic(address: string, code: number, enhanced: string, text: string, remoteHost: string): RecipientOutcome {
  return { address, ...classifyReply(code, enhanced, text), reply: `${code} ${enhanced} ${text}`, remoteHost };
}

/** What one session on one host produced. */
interface SessionResult {
  outcomes: RecipientOutcome[];
  /** Nothing was accepted and the failure was temporary: the next host may do better. */
  tryNext: boolean;
  /** The STARTTLS handshake failed: a plaintext retry on the same host may do better. */
  tlsFailed: boolean;
}

export async function attemptDelivery(req: AttemptRequest, pool: ConnectionPool | null = null): Promise<AttemptResult> {
  const log: string[] = [];
  const final = new Map<string, RecipientOutcome>();
  let pending = req.recipients.slice();
  const timeouts: Timeouts = { ...DEFAULTS, ...req.timeouts };
  try {
    if (!req.targets.length) {
      return {
        recipients: pending
          .map((r) => synthetic(r.address, 451, '4.4.4', 'no host to deliver to', ''))
          .map((o) => ({ ...o, remoteHost: null })),
        log: ['no targets'],
      };
    }
    for (let i = 0; i < req.targets.length && pending.length; i++) {
      if (req.signal?.aborted || (req.deadline !== undefined && Date.now() >= req.deadline)) {
        log.push(req.signal?.aborted ? 'stopped: shutting down' : 'stopped: the attempt reached its deadline');
        break;
      }
      const target = req.targets[i]!;
      let res = await session(req, target, pending, timeouts, false, log, pool);
      if (res.tlsFailed && req.tls === 'opportunistic') {
        log.push(`${remoteOf(target)}: STARTTLS handshake failed, retrying once in plaintext`);
        res = await session(req, target, pending, timeouts, true, log, null);
      }
      const last = i === req.targets.length - 1;
      for (const o of res.outcomes) {
        if (o.outcome !== 'deferred' || !res.tryNext || last) final.set(o.address, o);
      }
      if (!res.tryNext) break;
      pending = pending.filter((r) => !final.has(r.address));
      if (pending.length && !last) log.push(`${remoteOf(target)}: trying the next host`);
    }
  } catch (err) {
    log.push(`internal error: ${(err as Error).message}`);
  }
  const recipients = req.recipients.map(
    (r) =>
      final.get(r.address) ?? {
        address: r.address,
        outcome: 'deferred' as const,
        category: 'timeout',
        reply: 'not attempted: the attempt ran out of time',
        remoteHost: null,
      },
  );
  return { recipients, log };
}

function connectionOptions(req: AttemptRequest, target: AttemptTarget, t: Timeouts, plain: boolean): SMTPConnection.Options {
  return {
    host: target.host,
    port: target.port,
    ...(target.localAddress ? { localAddress: target.localAddress } : {}),
    name: req.hostname,
    // nodemailer cuts the greeting short by what is left of connectionTimeout; the TCP connect
    // alone is bounded by connectMs in connect() below, so the greeting gets its own greetingMs
    connectionTimeout: t.connectMs + t.greetingMs,
    greetingTimeout: t.greetingMs,
    socketTimeout: t.commandMs,
    socketCloseTimeout: 0,
    maxResponseSize: MAX_RESPONSE,
    logger: false,
    ignoreTLS: (req.tls === 'none' || plain) && !target.dane,
    requireTLS: req.tls === 'required' || !!target.dane,
    opportunisticTLS: req.tls === 'opportunistic' && !target.dane,
    tls: {
      // DANE authenticates the chain itself (checkDane), not the public CAs
      rejectUnauthorized: req.tls === 'required' && !target.dane,
      ...(target.name && !/^[\d.:]+$/.test(target.name) ? { servername: target.name } : {}),
    },
  };
}

/** A connection with what its error events told us (one listener for its whole life). */
interface Live extends PooledConnection {
  internals: ConnInternals;
  authenticated: boolean;
  lastError: SmtpErr | null;
  upgrading: boolean;
  dane?: DaneTarget;
}

function open(req: AttemptRequest, target: AttemptTarget, t: Timeouts, plain: boolean, key: string): Live {
  const conn = new SMTPConnection(connectionOptions(req, target, t, plain));
  const live: Live = {
    conn,
    key,
    uses: 0,
    closed: false,
    internals: conn as unknown as ConnInternals,
    lastError: null,
    upgrading: false,
    authenticated: false,
    dane: target.dane,
  };
  conn.on('error', (err: SmtpErr) => {
    live.lastError = err;
    live.upgrading = live.upgrading || Boolean(conn.upgrading);
  });
  conn.on('end', () => {
    live.closed = true;
  });
  return live;
}

/** Closes the connection at the deadline or on abort, whatever it is doing; returns the undo. */
function guard(req: AttemptRequest, live: Live): () => void {
  const kill = () => {
    try {
      live.conn.close();
    } catch {
      /* closed */
    }
  };
  const timer = req.deadline !== undefined ? setTimeout(kill, Math.max(0, req.deadline - Date.now())) : null;
  req.signal?.addEventListener('abort', kill);
  return () => {
    if (timer) clearTimeout(timer);
    req.signal?.removeEventListener('abort', kill);
  };
}

function poolKey(req: AttemptRequest, target: AttemptTarget): string {
  // the source address and EHLO name are part of the key: reuse never crosses egress pools
  return [
    target.host,
    target.port,
    req.tls,
    target.name ?? '',
    req.hostname,
    req.auth?.user ?? '',
    target.localAddress ?? '',
    target.dane ? 'dane' : '',
  ].join('|');
}

const BROKEN = /timeout|network|protocol/;

/**
 * One session on one host: a pooled connection when one is idle (if it turns out dead before
 * anything was accepted, a fresh one is opened once), else a new connection; the checks on the
 * advertised extensions; one transaction. A healthy connection goes back to the pool (after RSET when needed).
 */
async function session(
  req: AttemptRequest,
  target: AttemptTarget,
  recipients: AttemptRecipient[],
  t: Timeouts,
  plain: boolean,
  log: string[],
  pool: ConnectionPool | null,
): Promise<SessionResult> {
  const remote = remoteOf(target);
  const key = poolKey(req, target);
  const reused = !plain && pool ? (pool.take(key) as Live | null) : null;
  if (reused) {
    const undo = guard(req, reused);
    const res = await onConnection(req, reused, recipients, t, remote, log, pool, true).finally(undo);
    if (res) return res;
    log.push(`${remote}: reused connection was closed by the server; opening a new one`);
  }
  const live = open(req, target, t, plain, key);
  const undo = guard(req, live);
  try {
    return await fresh(req, live, recipients, t, plain, remote, log, pool);
  } finally {
    undo();
  }
}

/** Connect (greeting, EHLO, STARTTLS), then the transaction; connect failures become outcomes. */
async function fresh(
  req: AttemptRequest,
  live: Live,
  recipients: AttemptRecipient[],
  t: Timeouts,
  plain: boolean,
  remote: string,
  log: string[],
  pool: ConnectionPool | null,
): Promise<SessionResult> {
  const all = (make: (address: string) => RecipientOutcome) => recipients.map((r) => make(r.address));
  try {
    const connErr = await connect(live, t);
    if (connErr) {
      closeConnection(live, false, null);
      const tlsError = connErr.code === 'ETLS' || connErr.command === 'STARTTLS' || live.upgrading;
      const tlsFailed = !plain && req.tls === 'opportunistic' && tlsError && !live.dane;
      log.push(`${remote}: connect failed: ${clip(connErr.message)}`);
      const outcomes = all((a) =>
        live.dane && tlsError ? daneDeferral(a, live.dane, `TLS failed: ${connErr.message}`, remote) : outcomeFromError(a, connErr, remote),
      );
      if (req.tls === 'required' && tlsError) {
        for (const o of outcomes) {
          o.outcome = 'deferred';
          o.category = 'tls';
        }
      }
      // a 5xx greeting or EHLO refuses this host, not the recipient: defer and try the next
      // host (what Postfix does with smtp_skip_5xx_greeting)
      for (const o of outcomes) if (o.outcome === 'failed') o.outcome = 'deferred';
      return { outcomes, tryNext: outcomes.every((o) => o.outcome === 'deferred'), tlsFailed };
    }
    log.push(`${remote}: connected${live.conn.secure ? ' with TLS' : ''}`);
  } catch (err) {
    closeConnection(live, false, null);
    const e = (live.lastError ?? err) as SmtpErr;
    log.push(`${remote}: ${clip(e.message)}`);
    return { outcomes: all((a) => outcomeFromError(a, e, remote)), tryNext: false, tlsFailed: false };
  }
  return (await onConnection(req, live, recipients, t, remote, log, pool, false))!;
}

/**
 * The checks and the transaction on an open connection. On a reused connection that broke
 * before the server accepted anything, resolves null (the caller opens a new connection).
 */
async function onConnection(
  req: AttemptRequest,
  live: Live,
  recipients: AttemptRecipient[],
  t: Timeouts,
  remote: string,
  log: string[],
  pool: ConnectionPool | null,
  reused: boolean,
): Promise<SessionResult | null> {
  try {
    const daneFailure = checkDane(live, remote, log);
    if (daneFailure) {
      closeConnection(live, false, null);
      return { outcomes: recipients.map((r) => daneDeferral(r.address, live.dane!, daneFailure, remote)), tryNext: true, tlsFailed: false };
    }
    const refused = checkExtensions(req, recipients, live.conn, live.internals, remote, log);
    if (refused.stop) {
      closeConnection(live, true, pool);
      return { outcomes: refused.outcomes, tryNext: false, tlsFailed: false };
    }
    const sendable = recipients.filter((r) => !refused.outcomes.some((o) => o.address === r.address));
    const authFailed = await authenticate(req, live, t, remote, log);
    if (authFailed) {
      closeConnection(live, false, null);
      return { outcomes: recipients.map((r) => ({ ...authFailed, address: r.address })), tryNext: false, tlsFailed: false };
    }
    live.lastError = null;
    const sent = await transaction(req, sendable, live.conn, live.internals, t, remote, log);
    const healthy = !live.closed && !sent.broken && !sent.outcomes.some((o) => BROKEN.test(o.category));
    if (reused && !healthy && sent.untouched) {
      closeConnection(live, false, null);
      return null;
    }
    live.uses++;
    // after a completed transaction the next MAIL may follow at once (RFC 5321 4.1.4); after
    // refusals the server may still hold a half transaction: RSET first
    closeConnection(
      live,
      healthy,
      pool,
      sent.outcomes.every((o) => o.outcome === 'delivered'),
    );
    return { outcomes: [...refused.outcomes, ...sent.outcomes], tryNext: sent.tryNext, tlsFailed: false };
  } catch (err) {
    closeConnection(live, false, null);
    const e = (live.lastError ?? err) as SmtpErr;
    log.push(`${remote}: ${clip(e.message)}`);
    return { outcomes: recipients.map((r) => outcomeFromError(r.address, e, remote)), tryNext: false, tlsFailed: false };
  }
}

/** A host with DANE records: TLS must be up and (with records) the chain must match. Null when fine. */
function checkDane(live: Live, remote: string, log: string[]): string | null {
  if (!live.dane) return null;
  const socket = live.internals._socket;
  if (!live.conn.secure || !socket || !('getPeerCertificate' in socket)) return 'the connection is not encrypted';
  if (!live.dane.records.length) {
    log.push(`${remote}: TLS (unauthenticated: its TLSA records are all unusable)`);
    return null;
  }
  const r = verifyDane(live.dane, peerChain(socket as import('node:tls').TLSSocket));
  if (r.ok) log.push(`${remote}: DANE: certificate matches ${r.matched}`);
  else log.push(`${remote}: DANE: ${r.why}`);
  return r.ok ? null : r.why;
}

function daneDeferral(address: string, dane: DaneTarget, why: string, remote: string): RecipientOutcome {
  const what = dane.records.length ? 'publishes DANE TLSA records' : 'publishes TLSA records (none usable: TLS required)';
  return {
    address,
    outcome: 'deferred',
    category: 'tls',
    reply: clip(`451 4.7.5 DANE: ${dane.host} ${what}, but ${why}`),
    remoteHost: remote,
  };
}

/**
 * AUTH at a next hop that needs it (a route with a login): only over TLS, and a refusal defers
 * (it is our configuration that is wrong, not the recipient). Null when done or not needed.
 */
async function authenticate(
  req: AttemptRequest,
  live: Live,
  t: Timeouts,
  remote: string,
  log: string[],
): Promise<Omit<RecipientOutcome, 'address'> | null> {
  if (!req.auth || live.authenticated) return null;
  if (!live.conn.secure) {
    log.push(`${remote}: AUTH needs TLS, not sending the password in clear`);
    return {
      outcome: 'deferred',
      category: 'tls',
      reply: `451 4.7.5 the route to ${remote} needs a login, but the connection is not encrypted`,
      remoteHost: remote,
    };
  }
  // nodemailer never calls back when the connection drops during AUTH: race its end too
  const err = await new Promise<SmtpErr | null>((resolve) => {
    let done = false;
    const finish = (e: SmtpErr | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      live.conn.removeListener('end', onEnd);
      resolve(e);
    };
    const onEnd = () => finish(Object.assign(new Error('connection closed during AUTH'), { code: 'ECONNECTION' }));
    const timer = setTimeout(() => finish(Object.assign(new Error('no reply to AUTH'), { code: 'ETIMEDOUT' })), t.commandMs * 2);
    live.conn.once('end', onEnd);
    live.conn.login({ user: req.auth!.user, pass: req.auth!.pass }, (e) => finish((e as SmtpErr | null) ?? null));
  });
  if (!err) {
    live.authenticated = true;
    log.push(`${remote}: logged in as ${req.auth.user}`);
    return null;
  }
  log.push(`${remote}: login as ${req.auth.user} refused: ${clip(err.message)}`);
  const reply = typeof err.response === 'string' ? err.response : err.message;
  return { outcome: 'deferred', category: 'policy', reply: clip(`login at the next hop refused: ${reply}`), remoteHost: remote };
}

/** Healthy: back to the pool (after RSET unless the transaction completed; QUIT without a pool); broken: just close. */
function closeConnection(live: Live, healthy: boolean, pool: ConnectionPool | null, clean = false): void {
  try {
    if (!healthy || live.closed) {
      live.conn.close();
      return;
    }
    if (!pool) {
      quitQuietly(live.conn);
      return;
    }
    if (clean) {
      pool.give(live);
      return;
    }
    live.conn.reset((err?: Error | null) => {
      if (err || live.closed) {
        try {
          live.conn.close();
        } catch {
          /* closed */
        }
        return;
      }
      pool.give(live);
    });
  } catch {
    /* already closed */
  }
}

/**
 * Resolves with the error that ended the connect, or null once EHLO (and STARTTLS) are done.
 * The TCP connection (with a name lookup) must be up within connectMs; the greeting then has
 * greetingMs of its own, and each later reply commandMs.
 */
function connect(live: Live, t: Timeouts): Promise<SmtpErr | null> {
  const conn = live.conn;
  return new Promise((resolve) => {
    let done = false;
    const finish = (e: SmtpErr | null) => {
      if (!done) {
        done = true;
        clearTimeout(guard);
        clearTimeout(tcp);
        resolve(e);
      }
    };
    const tcp = setTimeout(() => {
      const socket = live.internals._socket;
      if (!socket || socket.connecting) finish(Object.assign(new Error('Connection timeout'), { code: 'ETIMEDOUT' }));
    }, t.connectMs);
    // nodemailer bounds each phase; this bounds the whole, in case a phase slips through
    const guard = setTimeout(
      () => finish(Object.assign(new Error('connect and greeting took too long'), { code: 'ETIMEDOUT' })),
      t.connectMs + 2 * t.greetingMs + 2 * t.commandMs,
    );
    conn.once('error', (e: SmtpErr) => finish(e));
    conn.once('end', () => finish(Object.assign(new Error('connection closed during connect'), { code: 'ECONNECTION' })));
    conn.connect((e?: SmtpErr) => finish(e ?? null));
  });
}

/** SIZE, SMTPUTF8 and required TLS, checked before MAIL. `stop` ends the session for all. */
function checkExtensions(
  req: AttemptRequest,
  recipients: AttemptRecipient[],
  conn: SMTPConnection,
  internals: ConnInternals,
  remote: string,
  log: string[],
): { stop: boolean; outcomes: RecipientOutcome[] } {
  const all = (code: number, enhanced: string, text: string) => ({
    stop: true,
    outcomes: recipients.map((r) => synthetic(r.address, code, enhanced, text, remote)),
  });
  if (req.tls === 'required' && !conn.secure) {
    log.push(`${remote}: TLS required but not in use`);
    const r = all(451, '4.7.5', 'TLS is required but the server did not offer it');
    for (const o of r.outcomes) o.category = 'tls';
    return r;
  }
  const ext = internals._supportedExtensions ?? [];
  const max = internals._maxAllowedSize;
  if (ext.includes('SIZE') && max > 0 && max < req.size) {
    log.push(`${remote}: message of ${req.size} bytes exceeds the server's SIZE ${max}`);
    return all(552, '5.3.4', `Message size ${req.size} exceeds the limit ${max} of ${remote}`);
  }
  if (ext.includes('SMTPUTF8')) return { stop: false, outcomes: [] };
  if (req.smtputf8Needed || NON_ASCII.test(req.sender)) {
    log.push(`${remote}: message needs SMTPUTF8, server does not offer it`);
    return all(553, '5.6.7', `${remote} does not support SMTPUTF8, needed by this message`);
  }
  const outcomes = recipients
    .filter((r) => NON_ASCII.test(r.address))
    .map((r) => synthetic(r.address, 553, '5.6.7', `${remote} does not support SMTPUTF8, needed by this address`, remote));
  if (outcomes.length) log.push(`${remote}: ${outcomes.length} UTF-8 recipient(s) refused: no SMTPUTF8`);
  return { stop: outcomes.length === recipients.length, outcomes };
}

type Phase = 'envelope' | 'data' | 'after-dot';

/** MAIL, RCPT, DATA and the body; maps the result to per-recipient outcomes. */
async function transaction(
  req: AttemptRequest,
  recipients: AttemptRecipient[],
  conn: SMTPConnection,
  internals: ConnInternals,
  t: Timeouts,
  remote: string,
  log: string[],
): Promise<{ outcomes: RecipientOutcome[]; tryNext: boolean; untouched: boolean; broken: boolean }> {
  const ext = internals._supportedExtensions ?? [];
  const dsn = ext.includes('DSN');
  if (dsn) installDsn(internals, recipients);
  if (req.eightBit && !ext.includes('8BITMIME')) log.push(`${remote}: 8-bit message sent to a server without 8BITMIME`);
  let phase: Phase = 'envelope';
  const body = tracked(
    req.body,
    () => {
      phase = 'data';
    },
    () => {
      phase = 'after-dot';
      const socket = internals._socket;
      if (socket) socket.setTimeout(t.dataMs);
    },
  );
  const envelope: SMTPConnection.Envelope = {
    from: req.sender === '' ? false : req.sender,
    to: recipients.map((r) => r.address),
    size: req.size,
    use8BitMime: req.eightBit,
    ...(dsn && (req.ret || req.envid) ? { dsn: { ret: req.ret ?? null, envid: req.envid ?? null } } : {}),
  };
  const watchdog = t.connectMs + t.commandMs * (4 + recipients.length) + t.dataMs * 2;
  const result = await new Promise<{ err: SmtpErr | null; info?: SMTPConnection.SentMessageInfo }>((resolve) => {
    let done = false;
    const onEnd = () =>
      setTimeout(() => finish({ err: Object.assign(new Error('Connection closed unexpectedly'), { code: 'ECONNECTION' }) }), 50);
    const finish = (v: { err: SmtpErr | null; info?: SMTPConnection.SentMessageInfo }) => {
      if (done) return;
      done = true;
      clearTimeout(guard);
      conn.removeListener('end', onEnd);
      const socket = internals._socket;
      if (socket) socket.setTimeout(t.commandMs); // back from the data timeout, for a reused connection
      resolve(v);
    };
    const guard = setTimeout(() => finish({ err: Object.assign(new Error('transaction took too long'), { code: 'ETIMEDOUT' }) }), watchdog);
    conn.once('end', onEnd);
    conn.send(envelope, body, (err, info) => finish({ err: (err as SmtpErr | null) ?? null, info }));
  });
  if (!result.err && result.info) {
    const info = result.info;
    log.push(`${remote}: ${clip(info.response)}`);
    const rejected = new Map((info.rejectedErrors ?? []).map((e) => [(e as SmtpErr).recipient ?? '', e as SmtpErr]));
    const outcomes = recipients.map((r) => {
      if (info.accepted.includes(r.address)) return { ...outcomeFromReply(r.address, info.response, remote), dsnPassedOn: dsn };
      const e = rejected.get(r.address);
      return e
        ? outcomeFromError(r.address, e, remote)
        : synthetic(r.address, 451, '4.3.0', 'recipient was neither accepted nor rejected', remote);
    });
    return { outcomes, tryNext: false, untouched: false, broken: false };
  }
  const failed = failedTransaction(recipients, result.err!, phase, internals, remote, log);
  const untouched = phase === 'envelope' && !internals._envelope?.accepted?.length && typeof result.err!.response !== 'string';
  // no reply once the body was on its way (a body read error, a drop): the session is unusable
  const broken = phase !== 'envelope' && typeof result.err!.response !== 'string';
  return { ...failed, untouched, broken };
}

function failedTransaction(
  recipients: AttemptRecipient[],
  err: SmtpErr,
  phase: Phase,
  internals: ConnInternals,
  remote: string,
  log: string[],
): { outcomes: RecipientOutcome[]; tryNext: boolean } {
  const env = internals._envelope;
  const accepted = new Set(env?.accepted ?? []);
  // a refused MAIL decides for everyone (pipelined RCPTs behind it only get "bad sequence")
  const mailRefused = err.command === 'MAIL FROM';
  const rejected = new Map(mailRefused ? [] : (err.rejectedErrors ?? env?.rejectedErrors ?? []).map((e) => [e.recipient ?? '', e]));
  log.push(`${remote}: ${phase === 'envelope' ? '' : `during ${phase}: `}${clip(err.message)}`);
  const noReplyAfterDot = phase === 'after-dot' && typeof err.response !== 'string';
  if (noReplyAfterDot) log.push(`${remote}: no reply after end of data: may be delivered twice`);
  const outcomes = recipients.map((r) => {
    const own = rejected.get(r.address);
    if (own && !accepted.has(r.address)) return outcomeFromError(r.address, own, remote);
    const o = outcomeFromError(r.address, err, remote);
    // once the body is on its way, nothing but a reply may fail a recipient for good
    if (phase !== 'envelope' && typeof err.response !== 'string') o.outcome = 'deferred';
    if (noReplyAfterDot) o.reply = clip(`no reply after end of data (${err.message}): may be delivered twice`);
    return o;
  });
  const tryNext =
    phase === 'envelope' &&
    accepted.size === 0 &&
    (mailRefused || typeof err.response !== 'string') &&
    outcomes.every((o) => o.outcome === 'deferred');
  return { outcomes, tryNext };
}

/** NOTIFY and ORCPT per recipient: nodemailer only knows one set per envelope. */
function installDsn(internals: ConnInternals, recipients: AttemptRecipient[]): void {
  const byAddress = new Map(recipients.map((r) => [r.address, r]));
  internals._getDsnRcptToArgs = function (this: ConnInternals) {
    const queue = this._recipientQueue ?? [];
    const r = byAddress.get(queue[queue.length - 1] ?? '');
    const args: string[] = [];
    if (r?.notify) args.push(`NOTIFY=${r.notify}`);
    if (r?.orcpt) args.push(`ORCPT=${r.orcpt.includes(';') ? r.orcpt : `rfc822;${xtext(r.orcpt)}`}`);
    return args.length ? ` ${args.join(' ')}` : '';
  };
}

/** RFC 3461 xtext. */
function xtext(s: string): string {
  return s.replace(/[^\x21-\x2a\x2c-\x3c\x3e-\x7e]/g, (c) => `+${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

/** The body, opened only when the server asks for it; tells when it starts and ends. */
function tracked(open: () => NodeJS.ReadableStream, onStart: () => void, onEnd: () => void): Readable {
  let src: NodeJS.ReadableStream | null = null;
  const out = new Readable({
    read() {
      if (src) {
        src.resume();
        return;
      }
      onStart();
      src = open();
      src.on('data', (chunk: Buffer | string) => {
        if (!out.push(chunk)) src!.pause();
      });
      src.on('end', () => {
        onEnd();
        out.push(null);
      });
      src.on('error', (e: Error) => out.destroy(e));
    },
    destroy(err, cb) {
      if (src && typeof (src as Readable).destroy === 'function') (src as Readable).destroy();
      cb(err);
    },
  });
  return out;
}
