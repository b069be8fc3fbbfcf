/**
 * The HTTP send API: POST /api/v1/messages with a raw message (message/rfc822; envelope in the
 * query: from, to, extract) or JSON (from, to, cc, bcc, subject, text, html, attachments,
 * headers), authenticated by a site token (Bearer) or a mailbox login (Basic; over TLS only).
 * Answers 202 with the queue id, or an RFC 9457 problem carrying the SMTP reply an SMTP client
 * would get. The same app serves the local socket of `postern sendmail` (site tokens only).
 */
import { Readable } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { Hono, type Context } from 'hono';
import type { HttpBindings } from '@hono/node-server';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import type { Logger } from 'pino';
import { ACCOUNT_SUSPENDED, SmtpError, clientKey, formatReply, readLimited, type Clock } from '../core/index.ts';
import { isSiteToken, siteTokenHash, suspendedWhat, type Authenticator, type LockoutPolicy } from '../credentials/index.ts';
import type { Store } from '../store/index.ts';
import type { Injector, InjectRequest, InjectSender } from './injector.ts';
import { httpStatusOf, problem, type Problem } from './problem.ts';
import { checkJsonAddresses, jsonMessage } from './json-message.ts';
import type { AuthOutcome, Metrics } from '../observability/index.ts';

export interface SendApiDeps {
  injector: Injector;
  store: Store;
  authenticator: Authenticator;
  lockout: LockoutPolicy;
  clock: Clock;
  logger: Logger;
  maxMessageSize: number;
  failureDelayMs: number;
  /** 'web' (TCP with TLS: tokens and logins) or 'local' (the sendmail socket: tokens only). */
  channel: 'web' | 'local';
  /** More routes on the same app (the client-setup pages of the web listener). */
  mount?: (app: Hono<Env>) => void;
  /** Logins (tokens and mailbox logins) and bans are counted here; the injector counts messages. */
  metrics?: Metrics;
}

export type Env = { Bindings: HttpBindings };

function send(c: Context, p: Problem, headers: Record<string, string> = {}) {
  const h: Record<string, string> = { 'content-type': 'application/problem+json', ...headers };
  if (p.retryAfter !== undefined) h['retry-after'] = String(p.retryAfter);
  return c.body(JSON.stringify(p), p.status as 400, h);
}

/** JSON bodies are read whole (with their attachments decoded): at most this many at once. */
const MAX_JSON_IN_FLIGHT = 4;

export function createSendApi(deps: SendApiDeps): Hono<Env> {
  const { logger } = deps;
  let jsonInFlight = 0;
  const app = new Hono<Env>();
  const delay = () => new Promise((r) => setTimeout(r, deps.failureDelayMs));
  const ipOf = (c: Context<Env>) => (deps.channel === 'local' ? '127.0.0.1' : (c.env.incoming.socket.remoteAddress ?? ''));
  const authed = (result: AuthOutcome) => deps.metrics?.auth.inc({ channel: deps.channel === 'web' ? 'api' : 'sendmail', result });
  const banned = (ip: string) => {
    deps.metrics?.bans.inc();
    logger.warn({ evt: 'ban', ip, result: 'banned' }, 'client address banned after too many failed logins');
  };

  /** A banned address without a right site token or a login known on its network: 429 saying until when. */
  const bannedProblem = (until: number): Problem => {
    authed('banned');
    const at = new Date(until).toISOString().replace(/\.\d{3}Z$/, 'Z');
    return problem(
      'auth',
      429,
      `Too many failed logins from your address; refused until ${at}, except site tokens and mailboxes that logged in from this network before`,
      { retryAfter: Math.max(1, Math.ceil((until - deps.clock.now()) / 1000)) },
    );
  };

  /** The sender behind the Authorization header, or a problem. */
  async function who(c: Context<Env>, ip: string): Promise<InjectSender | Problem> {
    const header = c.req.header('authorization') ?? '';
    const [scheme, value = ''] = header.split(/\s+/, 2);
    const fail = async (detail: string, countIp: boolean): Promise<Problem> => {
      if (countIp && deps.channel === 'web' && !deps.lockout.isTrusted(ip)) {
        const l = deps.lockout;
        if (await deps.store.authGuard.recordIpFailure(clientKey(ip), deps.clock.now(), l.ipWindowMs, l.ipFailures, l.ipBanMs)) banned(ip);
      }
      if (deps.failureDelayMs) await delay();
      return problem('auth', 401, detail);
    };
    if (/^bearer$/i.test(scheme ?? '')) {
      // a right site token is never refused for its address's ban
      const site = isSiteToken(value) ? await deps.store.sites.byTokenHash(siteTokenHash(value)) : null;
      if (!site) {
        const ban =
          deps.channel === 'web' && !deps.lockout.isTrusted(ip) ? await deps.store.authGuard.banOf(clientKey(ip), deps.clock.now()) : null;
        if (ban) return bannedProblem(ban.bannedUntil);
        logger.warn(
          { evt: 'auth', listener: deps.channel, ip, method: 'token', result: 'fail', reason: 'unknown-token' },
          'authentication failed',
        );
        authed('failure');
        return fail('The site token is not valid (was it rotated?)', true);
      }
      if (site.customerStatus !== 'active') {
        logger.warn(
          {
            evt: 'auth',
            listener: deps.channel,
            ip,
            method: 'token',
            site: site.name,
            customer: site.customerName,
            result: 'fail',
            reason: 'suspended',
          },
          'authentication refused: customer account suspended',
        );
        authed('suspended');
        return problem('suspended', 403, ACCOUNT_SUSPENDED);
      }
      authed('success');
      return { kind: 'site', site, grants: await deps.store.sites.grants(site.id) };
    }
    if (/^basic$/i.test(scheme ?? '') && deps.channel === 'web') {
      const decoded = Buffer.from(value, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      const login = colon === -1 ? decoded : decoded.slice(0, colon);
      const r = await deps.authenticator.authenticate(login.trim(), colon === -1 ? '' : decoded.slice(colon + 1), ip);
      if (!r.ok && r.reason === 'banned') return bannedProblem(r.bannedUntil!);
      if (!r.ok) {
        logger.warn(
          { evt: 'auth', listener: 'api', ip, method: 'basic', user: login, result: 'fail', reason: r.reason },
          'authentication failed',
        );
        authed(r.reason === 'locked' || r.reason === 'suspended' ? r.reason : 'failure');
        if (r.ipBanned) banned(ip);
        if (r.reason === 'suspended')
          return problem(
            suspendedWhat(r.mailbox) === 'account' ? 'suspended' : 'auth',
            403,
            `This ${suspendedWhat(r.mailbox)} is suspended; contact your provider`,
          );
        return fail(
          r.reason === 'locked' ? 'Too many failed logins, try again later or contact your provider' : 'Authentication credentials invalid',
          false,
        );
      }
      authed('success');
      const m = r.mailbox;
      return {
        kind: 'mailbox',
        user: { mailboxId: m.id, address: m.address, customerId: m.customerId, customerName: m.customerName },
        grants: await deps.store.grants.list(m.id),
      };
    }
    return problem(
      'auth',
      401,
      deps.channel === 'web'
        ? 'Give a site token (Authorization: Bearer) or a mailbox login (Basic)'
        : 'Give a site token (Authorization: Bearer)',
    );
  }

  /** The request's message and envelope, or a problem. */
  async function body(c: Context<Env>): Promise<Pick<InjectRequest, 'from' | 'to' | 'extract' | 'fullName' | 'message'> | Problem> {
    const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    const raw = c.req.raw.body;
    if (type === 'message/rfc822') {
      const q = (k: string) => c.req.queries(k) ?? [];
      return {
        from: c.req.query('from') ?? null,
        to: q('to')
          .flatMap((v) => v.split(','))
          .map((v) => v.trim())
          .filter(Boolean),
        extract: /^(1|true|yes)$/i.test(c.req.query('extract') ?? ''),
        fullName: c.req.query('fullName') ?? null,
        message: raw ? Readable.fromWeb(raw as import('node:stream/web').ReadableStream) : Readable.from([]),
      };
    }
    if (type !== 'application/json') return problem('bad-request', 415, 'Send the message as message/rfc822 or as application/json');
    if (jsonInFlight >= MAX_JSON_IN_FLIGHT)
      return problem(
        'unavailable',
        503,
        'Too many JSON messages are being read at once; try again in a moment, or send message/rfc822 (streamed)',
        { retryAfter: 1 },
      );
    jsonInFlight++;
    try {
      return await jsonBody(c);
    } finally {
      jsonInFlight--;
    }
  }

  async function jsonBody(c: Context<Env>): Promise<Pick<InjectRequest, 'from' | 'to' | 'extract' | 'fullName' | 'message'> | Problem> {
    const raw = c.req.raw.body;
    const limit = Math.ceil(deps.maxMessageSize * 1.4) + 65536; // base64 attachments are a third larger
    if (Number(c.req.header('content-length') ?? 0) > limit)
      return problem('size', 413, `Message exceeds the maximum size of ${deps.maxMessageSize} bytes`);
    const text = await readLimited(raw, limit);
    if (text === null) return problem('size', 413, `Message exceeds the maximum size of ${deps.maxMessageSize} bytes`);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return problem('bad-request', 400, 'The body is not valid JSON');
    }
    const parsed = jsonMessage.safeParse(json);
    if (!parsed.success) {
      return problem('bad-request', 400, 'The message is not valid', {
        errors: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
      });
    }
    const m = parsed.data;
    const bad = checkJsonAddresses(m);
    if (bad) return bad;
    const composer = new MailComposer({
      from: m.from,
      to: m.to,
      cc: m.cc,
      bcc: m.bcc,
      replyTo: m.replyTo,
      subject: m.subject,
      text: m.text,
      html: m.html,
      headers: m.headers,
      attachments: m.attachments?.map((a) => ({
        filename: a.filename,
        content: Buffer.from(a.content, 'base64'),
        contentType: a.contentType,
        cid: a.cid,
      })),
    });
    const node = composer.compile();
    const envelope = node.getEnvelope() as { from: string | false; to: string[] };
    return { from: envelope.from || m.from, to: envelope.to, extract: false, message: node.createReadStream() as unknown as Readable };
  }

  app.post('/api/v1/messages', async (c) => {
    const ip = ipOf(c);
    const sender = await who(c, ip);
    if ('status' in sender) {
      return send(
        c,
        sender,
        sender.status === 401
          ? { 'www-authenticate': deps.channel === 'web' ? 'Bearer realm="postern", Basic realm="postern"' : 'Bearer realm="postern"' }
          : {},
      );
    }
    const b = await body(c);
    if ('status' in b) return send(c, b);
    const socket = c.env.incoming.socket as TLSSocket;
    const tls =
      deps.channel === 'web' && socket.encrypted
        ? { version: socket.getProtocol() ?? 'TLS', cipher: socket.getCipher()?.name ?? '' }
        : null;
    try {
      const r = await deps.injector.inject({
        ...b,
        sender,
        channel: deps.channel === 'web' ? 'api' : 'sendmail',
        clientIp: ip,
        tls,
        unixUser: null,
      });
      // recipients on the suppression list were left out: each with its SMTP reply
      return c.json(
        {
          id: r.id,
          status: r.held ? 'held' : 'queued',
          sender: r.sender,
          recipients: r.recipients,
          ...(r.refused.length ? { refused: r.refused } : {}),
        },
        202,
      );
    } catch (err) {
      const p = problemOf(err, deps.clock.now());
      if (p.status >= 500)
        logger.error(
          { evt: 'api', ip, err: (err as Error).message, cause: ((err as Error).cause as Error | undefined)?.message },
          'message not queued',
        );
      else
        logger.warn(
          { evt: 'data', listener: deps.channel === 'web' ? 'api' : 'sendmail', ip, result: 'reject', reply: p.smtp ?? p.detail },
          'message not queued',
        );
      return send(c, p);
    }
  });

  deps.mount?.(app);
  app.notFound((c) => send(c, problem('not-found', 404, `No such resource: ${c.req.method} ${c.req.path}`)));
  app.onError((err, c) => {
    logger.error({ evt: 'api', err: err.message }, 'request failed');
    return send(c, problem('unavailable', 503, 'Temporary local problem, try again later'));
  });
  return app;
}

/** The problem for an error of the injector (SmtpError: the same reply as over SMTP). */
export function problemOf(err: unknown, now: number): Problem {
  if (err instanceof SmtpError) {
    const status = httpStatusOf(err.reply.code, err.reason);
    const retryAfter = err.retryAt !== undefined ? Math.max(1, Math.ceil((err.retryAt - now) / 1000)) : undefined;
    return problem(err.reason ?? (err.reply.code < 500 ? 'unavailable' : 'data'), status, err.reply.text, {
      smtp: formatReply(err.reply),
      ...(retryAfter !== undefined ? { retryAfter } : {}),
    });
  }
  return problem('unavailable', 503, 'Temporary local problem, try again later', {
    smtp: '451 4.3.0 Temporary local problem, try again later',
  });
}
