/**
 * The SMTP session hooks of one listener: each hook turns into calls on credentials, policy
 * and intake, and their verdicts into replies. No business rule lives here.
 */
import type {
  SMTPServerOptions,
  SMTPServerSession,
  SMTPServerAuthentication,
  SMTPServerAuthenticationResponse,
  SMTPServerAddress,
  SMTPServerDataStream,
} from 'smtp-server';
import type { Logger } from 'pino';
import { SmtpError, because, smtpError, newQueueId, type Clock, type SenderGrant, type Suppression } from '../core/index.ts';
import type { ListenerConfig } from '../config/index.ts';
import { suspendedWhat, type Authenticator } from '../credentials/index.ts';
import type { ConnectionGate, KnownNetworks } from '../limits/index.ts';
import type { Intake } from '../intake/index.ts';
import {
  checkEnvelopeSender,
  checkHeaderSenders,
  checkRecipient,
  checkRelayAccess,
  checkSuppression,
  type AuthUser,
  type RelayDeps,
  type SessionView,
  type Verdict,
} from '../policy/index.ts';
import { describeRule } from '../limits/index.ts';
import type { Containment } from '../containment/index.ts';
import type { AuthOutcome, Metrics, RefusalReason } from '../observability/index.ts';

export interface SessionDeps {
  listener: ListenerConfig;
  authenticator: Authenticator;
  gate: ConnectionGate;
  relay: RelayDeps;
  /** Networks a login succeeded from lately (reserved slots); fed by every successful AUTH. */
  knownNetworks: KnownNetworks;
  intake: Intake;
  logger: Logger;
  clock: Clock;
  maxRecipients: number;
  /** This listener's message size limit (advertised as SIZE). */
  maxMessageSize: number;
  /** The sender grants of a mailbox, read for every transaction (changes apply at once). */
  grantsFor(mailboxId: number): Promise<SenderGrant[]>;
  /** Tarpit: failed logins are answered after this delay. */
  failureDelayMs: number;
  /** Compromise signals, fed after each login and each accepted message (never awaited). */
  containment?: Containment;
  /** New mail of a mailbox on hold: held, or refused. */
  onSenderHold: 'hold' | 'refuse';
  /** Most held messages per mailbox (beyond: 451 4.7.1). */
  heldCap: number;
  /** Connections, logins and MAIL / RCPT refusals are counted here (intake counts messages). */
  metrics?: Metrics;
  /** The suppression in force for a recipient of the customer, or null; absent: nothing is suppressed. */
  suppressionOf?(customerId: number, address: string): Promise<Suppression | null>;
}

type Hooks = Pick<SMTPServerOptions, 'onConnect' | 'onAuth' | 'onMailFrom' | 'onRcptTo' | 'onData' | 'onClose'>;

interface SessionState {
  gated?: boolean;
  /** The grants read at MAIL FROM, for the header check of the same transaction. */
  grants?: SenderGrant[];
}

const state = (s: SMTPServerSession) => s as SMTPServerSession & { postern?: SessionState };
const st = (s: SMTPServerSession): SessionState => (state(s).postern ??= {});

function view(role: ListenerConfig['role'], s: SMTPServerSession): SessionView {
  return { role, clientIp: s.remoteAddress, user: (s.user as AuthUser | undefined) ?? null };
}

function fail(v: Verdict): SmtpError | null {
  return v.kind === 'reject' ? new SmtpError(v.reply) : null;
}

/** Errors that are not ours (store down, bugs) become 451 4.3.0: never "accept", never a trace. */
function tempfail(err: unknown): SmtpError {
  return err instanceof SmtpError ? err : smtpError(451, '4.3.0', 'Temporary local problem, try again later', err);
}

export function createSessionHooks(deps: SessionDeps): Hooks {
  const { listener, logger, metrics } = deps;
  const name = `${listener.role}:${listener.port}`;
  const connected = (result: string) => metrics?.connections.inc({ listener: name, result });
  const authed = (result: AuthOutcome) => metrics?.auth.inc({ channel: 'smtp', result });
  const refused = (reason: RefusalReason) => metrics?.refused.inc({ channel: 'smtp', reason });

  return {
    onConnect(session, cb) {
      // A banned address is not refused here: the ban is decided at AUTH (the right user behind
      // the same NAT may still log in to a mailbox known there), see credentials/authenticate.ts.
      const known = deps.knownNetworks.isKnown(session.remoteAddress, deps.clock.now());
      deps.gate.acquire(session.remoteAddress, known).then(
        (verdict) => {
          if (verdict !== 'ok') {
            const reason = verdict === 'per-ip' ? 'per-ip-limit' : 'per-network-limit';
            connected(reason);
            logger.warn(
              { evt: 'connect', listener: name, ip: session.remoteAddress, sid: session.id, result: 'refused', reason },
              `connection refused: too many from this ${verdict === 'per-ip' ? 'address' : 'network'}`,
            );
            return cb(
              smtpError(421, '4.7.0', `Too many connections from your ${verdict === 'per-ip' ? 'address' : 'network'}, try again later`),
            );
          }
          st(session).gated = true;
          connected('accepted');
          metrics?.connectionsOpen.inc({ listener: name });
          logger.info({ evt: 'connect', listener: name, ip: session.remoteAddress, sid: session.id }, 'connection');
          cb();
        },
        (err) => {
          logger.error(
            { evt: 'connect', listener: name, ip: session.remoteAddress, err: (err as Error).message },
            'connection gate failed',
          );
          connected('error');
          cb(smtpError(421, '4.3.0', 'Temporary local problem, try again later'));
        },
      );
    },

    onClose(session) {
      if (st(session).gated) {
        deps.gate.release(session.remoteAddress);
        metrics?.connectionsOpen.dec({ listener: name });
      }
      logger.info(
        { evt: 'disconnect', listener: name, ip: session.remoteAddress, sid: session.id, transactions: session.transaction },
        'connection closed',
      );
    },

    onAuth(
      auth: SMTPServerAuthentication,
      session,
      cb: (err: Error | null | undefined, response?: SMTPServerAuthenticationResponse) => void,
    ) {
      const login = (auth.username ?? '').trim();
      const log = { evt: 'auth', listener: name, ip: session.remoteAddress, sid: session.id, method: auth.method, user: login };
      if (auth.method === 'PLAIN' && auth.authzid && auth.authcid && auth.authzid !== auth.authcid) {
        logger.warn({ ...log, result: 'fail', reason: 'authzid-mismatch' }, 'authentication failed');
        authed('failure');
        return cb(smtpError(535, '5.7.8', 'Authentication failed: the authorization identity must be empty or equal to the login'));
      }
      const later = (fn: () => void) => (deps.failureDelayMs ? setTimeout(fn, deps.failureDelayMs) : fn());
      deps.authenticator
        .authenticate(login, auth.password ?? '', session.remoteAddress, {
          localIp: session.localAddress,
          secured: Boolean(session.secure),
        })
        .then(
          (r) => {
            if (r.ok) {
              const user: AuthUser = {
                mailboxId: r.mailbox.id,
                address: r.mailbox.address,
                customerId: r.mailbox.customerId,
                customerName: r.mailbox.customerName,
              };
              logger.info(
                {
                  ...log,
                  result: 'ok',
                  cached: r.cached,
                  via: r.via,
                  ...(r.created ? { created: true } : {}),
                  customer: user.customerName,
                },
                'authenticated',
              );
              authed('success');
              deps.knownNetworks.remember(session.remoteAddress, deps.clock.now());
              void deps.containment?.observeLogin(r.mailbox, session.remoteAddress);
              return cb(null, { user });
            }
            // one line per failure, stable keys: contrib/fail2ban matches "evt":"auth" ... "ip" ... "result":"fail";
            // a login refused by a ban already in force is "refused" (no password was checked)
            logger.warn(
              {
                ...log,
                result: r.reason === 'banned' ? 'refused' : 'fail',
                reason: r.reason,
                ...(r.lockedUntil ? { lockedUntil: new Date(r.lockedUntil).toISOString() } : {}),
              },
              'authentication failed',
            );
            authed(r.reason === 'locked' || r.reason === 'suspended' || r.reason === 'banned' ? r.reason : 'failure');
            if (r.ipBanned) {
              metrics?.bans.inc();
              logger.warn(
                { evt: 'ban', ip: session.remoteAddress, result: 'banned' },
                'client address banned after too many failed logins',
              );
            }
            if (r.reason === 'banned') {
              const until = new Date(r.bannedUntil!).toISOString().replace(/\.\d{3}Z$/, 'Z');
              return later(() =>
                cb(
                  smtpError(
                    454,
                    '4.7.0',
                    `Too many failed logins from your address; logins from it are refused until ${until}, except to mailboxes that logged in from this network before`,
                  ),
                ),
              );
            }
            if (r.reason === 'suspended') {
              return cb(
                smtpError(535, '5.7.8', `Authentication refused: this ${suspendedWhat(r.mailbox)} is suspended; contact your provider`),
              );
            }
            if (r.reason === 'locked') {
              return later(() =>
                cb(smtpError(535, '5.7.8', 'Authentication refused: too many failed logins, try again later or contact your provider')),
              );
            }
            later(() => cb(smtpError(535, '5.7.8', 'Authentication credentials invalid')));
          },
          (err) => {
            logger.error({ ...log, result: 'error', err: (err as Error).message }, 'authentication could not be checked');
            authed('error');
            cb(smtpError(454, '4.7.0', 'Temporary authentication failure, try again later'));
          },
        );
    },

    onMailFrom(address: SMTPServerAddress, session, cb) {
      const v = view(listener.role, session);
      st(session).grants = [];
      const decide = (grants: SenderGrant[]) => {
        st(session).grants = grants;
        const refusal = fail(checkEnvelopeSender(v, address.address, grants));
        if (refusal) {
          refused('sender');
          logger.warn(
            {
              evt: 'mail',
              listener: name,
              sid: session.id,
              ip: session.remoteAddress,
              user: v.user?.address ?? null,
              customer: v.user?.customerName ?? null,
              sender: address.address,
              result: 'reject',
              reply: refusal.message,
            },
            'sender refused',
          );
          return cb(refusal);
        }
        cb();
      };
      if (!v.user) return decide([]);
      deps.grantsFor(v.user.mailboxId).then(decide, (err) => {
        logger.error({ evt: 'mail', sid: session.id, err: (err as Error).message }, 'sender grants could not be read');
        refused('error');
        cb(tempfail(err));
      });
    },

    onRcptTo(address: SMTPServerAddress, session, cb) {
      const v = view(listener.role, session);
      const syntax = fail(checkRecipient(address.address, session.envelope.rcptTo.length, deps.maxRecipients));
      if (syntax) {
        refused('recipient');
        return cb(syntax);
      }
      const check = async (): Promise<[SmtpError | null, RefusalReason]> => {
        const relay = fail(await checkRelayAccess(deps.relay, v, address.address));
        if (relay || !v.user || !deps.suppressionOf) return [relay, 'relay'];
        return [fail(checkSuppression(address.address, await deps.suppressionOf(v.user.customerId, address.address))), 'suppressed'];
      };
      check().then(
        ([refusal, reason]) => {
          if (refusal) {
            refused(reason);
            logger.info(
              {
                evt: 'rcpt',
                listener: name,
                sid: session.id,
                ip: session.remoteAddress,
                user: v.user?.address ?? null,
                rcpt: address.address,
                result: 'reject',
                reason,
                reply: refusal.message,
              },
              'recipient refused',
            );
          }
          cb(refusal ?? undefined);
        },
        (err) => {
          logger.error({ evt: 'rcpt', sid: session.id, err: (err as Error).message }, 'recipient check failed');
          refused('error');
          cb(tempfail(err));
        },
      );
    },

    onData(stream: SMTPServerDataStream, session, cb) {
      const env = session.envelope;
      const user = (session.user as AuthUser | undefined) ?? null;
      const queueId = newQueueId(deps.clock.now());
      const tls = session.tlsOptions ? { version: session.tlsOptions.version ?? 'TLS', cipher: session.tlsOptions.name } : null;
      const started = performance.now();
      deps.intake
        .receive(stream, {
          queueId,
          // authenticated mail, or mail relayed for an inbound route (scanned alike)
          origin: user
            ? {
                kind: 'mailbox',
                mailboxId: user.mailboxId,
                address: user.address,
                customerId: user.customerId,
                customer: user.customerName,
                hold: { onSenderHold: deps.onSenderHold, heldCap: deps.heldCap },
                checkHeader: (facts) => {
                  const refusal = fail(checkHeaderSenders(user.address, st(session).grants ?? [], facts.senders));
                  if (refusal) throw because(refusal, 'send-as');
                },
              }
            : { kind: 'relay' },
          sender: env.mailFrom ? env.mailFrom.address : '',
          recipients: env.rcptTo.map((r) => ({
            address: r.address,
            notify: r.dsn?.notify?.join(',') ?? null,
            orcpt: r.dsn?.orcpt ?? null,
          })),
          dsnRet: env.dsn?.ret ?? null,
          dsnEnvid: env.dsn?.envid ?? null,
          clientIp: session.remoteAddress,
          clientHostname: null,
          heloName: session.hostNameAppearsAs || 'unknown',
          tls,
          listener: name,
          maxSize: deps.maxMessageSize,
          smtputf8: smtputf8Of(env.mailFrom),
        })
        .then(
          (r) => {
            if (r.held) {
              logger.warn(
                {
                  evt: 'hold',
                  listener: name,
                  sid: session.id,
                  qid: r.id,
                  user: user?.address ?? null,
                  customer: user?.customerName ?? null,
                  limits: r.held.map((e) => describeRule(e.rule)),
                },
                'message held: sending limit reached',
              );
            }
            logger.info(
              {
                evt: 'queued',
                listener: name,
                sid: session.id,
                qid: r.id,
                user: user?.address ?? null,
                customer: user?.customerName ?? null,
                held: r.held ? true : undefined,
                sender: env.mailFrom ? env.mailFrom.address : '',
                rcpts: env.rcptTo.length,
                size: r.size,
                msgid: r.facts.messageId,
                bareLineEnds: r.normalizedLineEnds || undefined,
                dkim: r.dkim ? (r.dkim.length ? r.dkim : 'unsigned') : undefined,
                spamScore: r.spamScore ?? undefined,
                ms: Math.round(performance.now() - started),
              },
              'message queued',
            );
            cb(null, `2.0.0 Ok: queued as ${r.id}`);
            if (user) void deps.containment?.observeMessage(user.address);
          },
          (err) => {
            const e = tempfail(err);
            logger.warn(
              {
                evt: 'data',
                listener: name,
                sid: session.id,
                qid: queueId,
                user: user?.address ?? null,
                result: 'reject',
                reply: `${e.responseCode} ${e.message}`,
                cause: (e.cause as Error | undefined)?.message,
              },
              'message not queued',
            );
            cb(e);
          },
        );
    },
  };
}

/** MAIL FROM:<...> SMTPUTF8 (smtp-server keeps the parameters in args). */
function smtputf8Of(from: { args?: unknown } | false): boolean {
  const args = from ? (from.args as Record<string, unknown> | false | undefined) : false;
  return Boolean(args && args.SMTPUTF8);
}
