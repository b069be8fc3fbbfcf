/**
 * One way in for mail that does not come over SMTP: `postern sendmail` (through the local
 * socket or the drop folder) and the HTTP send API. Builds the envelope (sendmail's -f / -t
 * rules), then runs the same policy as an SMTP AUTH session: envelope and header sender
 * against the sender's grants, recipient syntax and count, and intake with the sending limits
 * (site or mailbox, domain, customer, server) and holds. A recipient on the customer's
 * suppression list is left out (and reported); when none is left the message is refused. Throws
 * an SmtpError tagged with its reason; the channel turns it into a problem response or an exit code.
 */
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import {
  addressKey,
  because,
  newQueueId,
  parseAddress,
  SmtpError,
  smtpError,
  type Clock,
  type Site,
  type SiteGrant,
  type Suppression,
} from '../core/index.ts';
import {
  checkHeaderSenders,
  checkRecipient,
  checkSuppression,
  senderAllowed,
  type AuthUser,
  type Grant,
  type Verdict,
} from '../policy/index.ts';
import type { HeaderCheck, Intake } from '../intake/index.ts';
import type { Containment } from '../containment/index.ts';
import { envelopeFields, readHeaderBlock } from './header.ts';
import { channelOf, refusalOf, type Metrics } from '../observability/index.ts';

/** Who sends: a site (token) or a mailbox (login), with what it may send as. */
export type InjectSender = { kind: 'site'; site: Site; grants: SiteGrant[] } | { kind: 'mailbox'; user: AuthUser; grants: Grant[] };

export type InjectChannel = 'sendmail' | 'api' | 'maildrop';

export interface InjectRequest {
  sender: InjectSender;
  /** Envelope sender (sendmail -f, the API's from); default: the From address. */
  from?: string | null;
  /** Recipients given explicitly (command line, API). */
  to: string[];
  /** Also take the recipients from To/Cc/Bcc (sendmail -t); implied when `to` is empty. */
  extract?: boolean;
  /** Display name for a From field added when the message has none (sendmail -F). */
  fullName?: string | null;
  message: Readable;
  channel: InjectChannel;
  clientIp: string;
  tls: { version: string; cipher: string } | null;
  /** The unix user the kernel says wrote it (drop folder files), when known. */
  unixUser?: string | null;
}

/** A recipient left out of an accepted message, with the reply an SMTP client would have got at RCPT. */
export interface InjectRefusal {
  address: string;
  smtp: string;
}

export interface InjectResult {
  id: string;
  held: boolean;
  sender: string;
  recipients: string[];
  refused: InjectRefusal[];
}

export interface InjectorDeps {
  intake: Intake;
  clock: Clock;
  logger: Logger;
  maxRecipients: number;
  heldCap: number;
  onSenderHold: 'hold' | 'refuse';
  containment?: Containment;
  /** Refusals before intake (sender, recipients, header) are counted here; intake counts the rest. */
  metrics?: Metrics;
  /** The suppression in force for a recipient of the customer, or null; absent: nothing is suppressed. */
  suppressionOf?(customerId: number, address: string): Promise<Suppression | null>;
}

export interface Injector {
  inject(req: InjectRequest): Promise<InjectResult>;
}

const PROTOCOL: Record<InjectChannel, string> = { sendmail: 'LOCAL', maildrop: 'LOCAL', api: 'HTTPS' };

function raise(v: Verdict, reason: 'send-as' | 'recipient'): void {
  if (v.kind === 'reject') throw because(new SmtpError(v.reply), reason);
}

/** "Full Name" <address> for a From field; the name is quoted when it needs to be. */
function fromField(address: string, fullName: string | null | undefined): string {
  const name = (fullName ?? '').replace(/[\r\n]/g, ' ').trim();
  if (!name) return `<${address}>`;
  return /^[\w !#$%&'*+\-/=?^`{|}~]+$/.test(name) ? `${name} <${address}>` : `"${name.replace(/["\\]/g, '\\$&')}" <${address}>`;
}

/** Requests handed to intake, which counts them from there on. */
const atIntake = new WeakSet<InjectRequest>();

export function createInjector(deps: InjectorDeps): Injector {
  const inner = createUncounted(deps);
  return {
    async inject(req) {
      try {
        return await inner.inject(req);
      } catch (err) {
        if (!atIntake.has(req)) deps.metrics?.refused.inc({ channel: channelOf(req.channel), reason: refusalOf(err) });
        throw err;
      }
    },
  };
}

/**
 * Splits the recipients into those to send to and those on the customer's suppression list (each
 * with its 550 5.1.1). None left: the first refusal is thrown. A store that cannot answer: 451.
 */
async function withoutSuppressed(
  deps: InjectorDeps,
  channel: InjectChannel,
  customerId: number,
  recipients: string[],
): Promise<{ kept: string[]; refused: InjectRefusal[] }> {
  const lookup = deps.suppressionOf;
  if (!lookup) return { kept: recipients, refused: [] };
  let entries: (Suppression | null)[];
  try {
    entries = await Promise.all(recipients.map((r) => lookup(customerId, r)));
  } catch (err) {
    throw smtpError(451, '4.3.0', 'Temporary local problem, try again later', err);
  }
  const kept: string[] = [];
  const refused: { address: string; err: SmtpError }[] = [];
  recipients.forEach((address, i) => {
    const v = checkSuppression(address, entries[i] ?? null);
    if (v.kind === 'reject') refused.push({ address, err: because(new SmtpError(v.reply), 'suppressed') });
    else kept.push(address);
  });
  if (!kept.length) throw refused[0]!.err;
  // each recipient left out is a refused RCPT (a refused message is counted by inject)
  if (refused.length) deps.metrics?.refused.inc({ channel: channelOf(channel), reason: 'suppressed' }, refused.length);
  return { kept, refused: refused.map((r) => ({ address: r.address, smtp: `${r.err.reply.code} ${r.err.message}` })) };
}

function createUncounted(deps: InjectorDeps): Injector {
  const { logger } = deps;
  return {
    async inject(req) {
      const s = req.sender;
      const own = s.kind === 'mailbox' ? s.user.address : null;
      const who = s.kind === 'site' ? `site ${s.site.name}` : 'this login';
      const { head, message } = await readHeaderBlock(req.message);
      const fields = envelopeFields(head);

      // envelope sender: -f, else the From address, else the mailbox itself / the site's first address
      const firstGrant = s.kind === 'site' ? s.grants.find((g) => g.kind === 'address')?.value : undefined;
      const sender = (req.from ?? fields.from[0] ?? own ?? firstGrant ?? '').trim();
      if (!sender) {
        throw because(
          smtpError(553, '5.7.1', `No sender address: give one (sendmail -f, or a From field); ${who} has no address of its own`),
          'send-as',
        );
      }
      if (sender !== '<>' && !parseAddress(sender))
        throw because(smtpError(553, '5.1.7', `Sender address <${sender}> is not a valid address`), 'send-as');
      const envelopeSender = sender === '<>' ? '' : sender;
      if (!senderAllowed(own, s.grants, envelopeSender)) {
        throw because(
          smtpError(
            553,
            '5.7.1',
            envelopeSender
              ? `Sender address <${envelopeSender}> is not allowed for ${who}`
              : `The null sender <> is not allowed for ${who}`,
          ),
          'send-as',
        );
      }

      // recipients: explicit ones, plus the header's with -t (or when none were given)
      const wanted = [...req.to, ...(req.extract || !req.to.length ? fields.recipients : [])];
      const seen = new Set<string>();
      const recipients: string[] = [];
      for (const r of wanted.map((a) => a.trim()).filter(Boolean)) {
        raise(checkRecipient(r, recipients.length, deps.maxRecipients), 'recipient');
        const key = addressKey(r) ?? r;
        if (seen.has(key)) continue;
        seen.add(key);
        recipients.push(r);
      }
      if (!recipients.length)
        throw because(smtpError(554, '5.5.1', 'No recipients: give them explicitly or in To, Cc or Bcc'), 'recipient');
      const customerId = s.kind === 'site' ? s.site.customerId : s.user.customerId;
      const { kept, refused } = await withoutSuppressed(deps, req.channel, customerId, recipients);

      const queueId = newQueueId(deps.clock.now());
      const via =
        s.kind === 'site'
          ? `site ${s.site.name}${s.site.unixUser ? `, unix user ${s.site.unixUser}` : ''}${req.unixUser && req.unixUser !== s.site.unixUser ? `, written by unix user ${req.unixUser}` : ''}`
          : `login ${s.user.address}`;
      const customerName = s.kind === 'site' ? s.site.customerName : s.user.customerName;
      // a held mailbox, or a held site
      const hold = { onSenderHold: deps.onSenderHold, heldCap: deps.heldCap };
      const checkHeader: HeaderCheck = (facts) => raise(checkHeaderSenders(own, s.grants, facts.senders, who), 'send-as');
      const injected = {
        protocol: PROTOCOL[req.channel],
        via,
        addFrom: envelopeSender ? fromField(envelopeSender, req.fullName) : undefined,
      };
      const started = performance.now();
      atIntake.add(req);
      const r = await deps.intake.receive(message, {
        queueId,
        origin:
          s.kind === 'site'
            ? { kind: 'site', siteId: s.site.id, name: s.site.name, customerId, customer: customerName, hold, checkHeader, injected }
            : {
                kind: 'mailbox',
                mailboxId: s.user.mailboxId,
                address: s.user.address,
                customerId,
                customer: customerName,
                hold,
                checkHeader,
                injected,
              },
        sender: envelopeSender,
        recipients: kept.map((address) => ({ address })),
        dsnRet: null,
        dsnEnvid: null,
        clientIp: req.clientIp,
        clientHostname: req.channel === 'api' ? null : 'localhost',
        heloName: req.channel === 'api' ? 'api' : 'localhost',
        tls: req.tls,
        listener: req.channel,
      });
      logger.info(
        {
          evt: 'queued',
          listener: req.channel,
          qid: r.id,
          site: s.kind === 'site' ? s.site.name : undefined,
          user: own ?? undefined,
          customer: customerName,
          unixUser: req.unixUser ?? undefined,
          held: r.held ? true : undefined,
          sender: envelopeSender,
          rcpts: kept.length,
          refusedRcpts: refused.length ? refused.map((x) => x.address) : undefined,
          size: r.size,
          msgid: r.facts.messageId,
          dkim: r.dkim?.length ? r.dkim : 'unsigned',
          spamScore: r.spamScore ?? undefined,
          ms: Math.round(performance.now() - started),
        },
        'message queued',
      );
      if (s.kind === 'mailbox') void deps.containment?.observeMessage(s.user.address);
      return { id: r.id, held: r.held !== null, sender: envelopeSender, recipients: kept, refused };
    },
  };
}
