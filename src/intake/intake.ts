/**
 * From end-of-DATA to "queued": bare line-end guard, header fix-ups with DKIM signing beside
 * them (the signer reads the header block and body chunks as the rewriter passes them; the
 * signature fields are stored with the queue row), spool write with fsync,
 * group-committed queue rows. Resolves only when the message is durable; on any failure the
 * body is removed and the caller gets an SmtpError (5xx for the message's fault, 451 4.3.0
 * for ours).
 */
import { isAscii } from 'node:buffer';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { ACCOUNT_SUSPENDED, SmtpError, because, smtpError, type Clock, type NewRecipient } from '../core/index.ts';
import { describeRule, type Exceeded, type EnqueueVerdict } from '../limits/index.ts';
import type { Spool } from '../spool/index.ts';
import type { Enqueuer } from '../queue/index.ts';
import { LineEndingGuard } from './line-endings.ts';
import { HeaderRewriter, type HeaderFacts } from './headers.ts';
import { chain } from './chain.ts';
import { flagsOf, type IntakeOrigin, type OriginFlags } from './origin.ts';
import { DkimSigner, type SigningKey } from '../dkim/index.ts';
import type { Scanner, ScanDecision } from '../scan/index.ts';
import { buildReceived } from './received.ts';
import { channelOf, refusalOf, type Metrics, type RefusalReason } from '../observability/index.ts';
import type { WebhookEmitter } from '../webhooks/index.ts';

export interface IntakeRequest {
  queueId: string;
  /** Where it comes from: its kind implies signing, scanning, limits, holds and the Received line's protocol. */
  origin: IntakeOrigin;
  sender: string;
  recipients: NewRecipient[];
  dsnRet: string | null;
  dsnEnvid: string | null;
  clientIp: string;
  clientHostname: string | null;
  heloName: string;
  tls: { version: string; cipher: string } | null;
  listener: string;
  /** The listener's size limit (what it advertised as SIZE); defaults to deps.maxMessageSize. */
  maxSize?: number;
  /** MAIL FROM carried SMTPUTF8. */
  smtputf8?: boolean;
}

export interface IntakeResult {
  id: string;
  size: number;
  /** Accepted but held by a sending limit (it waits for the postmaster). */
  held: Exceeded[] | null;
  facts: HeaderFacts;
  normalizedLineEnds: number;
  /** How it was signed: the "domain/selector" of each signature (empty: unsigned), or null when signing was not asked for. */
  dkim: string[] | null;
  /** The content scanner's score, when it scanned the message. */
  spamScore: number | null;
}

export interface Intake {
  receive(source: Readable & { sizeExceeded?: boolean }, req: IntakeRequest): Promise<IntakeResult>;
}

export interface IntakeDeps {
  spool: Spool;
  enqueuer: Enqueuer;
  clock: Clock;
  hostname: string;
  bareLineEndings: 'normalize' | 'reject';
  maxLineLength: number;
  maxMessageSize: number;
  inlineBodyMaxBytes: number;
  /** The active DKIM keys of a domain; without it nothing is signed. */
  dkimKeys?: (domain: string) => Promise<SigningKey[]>;
  /** The content scanner; without it nothing is scanned. */
  scanner?: Scanner;
  /** Told (not awaited) when the scanner held or refused a message of a mailbox as spam. */
  onSpam?: (mailboxAddress: string) => void;
  /** The same for a message of a site. */
  onSiteSpam?: (siteId: number) => void;
  /** Every message that reaches intake is counted here: accepted or refused (with why), holds and limit hits. */
  metrics?: Metrics;
  /** Keep each message's life for message tracking (tracking.enabled). */
  track?: boolean;
  /** Messages held and sending limits reached become webhook events (never awaited). */
  webhooks?: Pick<WebhookEmitter, 'verdict'>;
}

/** The fields the scanner writes on top of a message (a sender's own are removed). */
const SCAN_FIELDS = ['x-spam-status', 'x-spam-score', 'x-spam-flag'] as const;

/** Refusals whose metric reason is finer than their SmtpError reason (held-full is a 'hold' to clients). */
const finerReason = new WeakMap<Error, RefusalReason>();

export function createIntake(deps: IntakeDeps): Intake {
  const intake = createIntakeUncounted(deps);
  const m = deps.metrics;
  if (!m) return intake;
  return {
    async receive(source, req) {
      const channel = channelOf(req.listener);
      try {
        const r = await intake.receive(source, req);
        m.accepted.inc({ channel });
        return r;
      } catch (err) {
        m.refused.inc({ channel, reason: finerReason.get(err as Error) ?? refusalOf(err) });
        throw err;
      }
    },
  };
}

function createIntakeUncounted(deps: IntakeDeps): Intake {
  /** Tells containment about a message of a mailbox or site the scanner held or refused as spam. */
  const spamOf = (o: OriginFlags) => {
    if (o.mailboxId && o.authUser) deps.onSpam?.(o.authUser);
    else if (o.siteId) deps.onSiteSpam?.(o.siteId);
  };
  return {
    async receive(source, req) {
      const o = flagsOf(req.origin, req.sender);
      const now = new Date(deps.clock.now());
      const body = deps.spool.createBody(req.queueId, deps.inlineBodyMaxBytes);
      const guard = new LineEndingGuard({ mode: o.bareLineEndings ?? deps.bareLineEndings, maxLineLength: deps.maxLineLength });
      const keysFor = deps.dkimKeys;
      const signer = o.sign && keysFor ? new DkimSigner({ keysFor, now: () => now.getTime() }) : null;
      const rewriter = new HeaderRewriter(
        {
          queueId: req.queueId,
          hostname: deps.hostname,
          now,
          addFrom: o.addFrom,
          strip: o.scan && deps.scanner ? SCAN_FIELDS : undefined,
          received: buildReceived({
            heloName: req.heloName,
            clientHostname: req.clientHostname,
            clientIp: req.clientIp,
            hostname: deps.hostname,
            queueId: req.queueId,
            tls: req.tls,
            authenticated: !!o.authUser,
            singleRecipient: req.recipients.length === 1 ? req.recipients[0].address : null,
            now,
            via: o.via,
            protocol: o.protocol,
          }),
        },
        signer,
      );
      const maxSize = req.maxSize ?? deps.maxMessageSize;
      const cap = new SizeCap(maxSize);
      const scanCtx = {
        queueId: req.queueId,
        sender: req.sender,
        recipients: req.recipients.map((r) => r.address),
        clientIp: req.clientIp,
        helo: req.heloName,
        user: o.scan?.user ?? null,
        customer: o.limitScope?.customer ?? null,
      };
      const scanTap = o.scan ? (deps.scanner?.tap(scanCtx) ?? null) : null;
      source.pipe(cap);
      try {
        await chain(cap, guard, rewriter, ...(scanTap ? [scanTap] : []), body.stream);
      } catch (err) {
        scanTap?.abandon();
        source.unpipe(cap);
        drain(source);
        await body.discard();
        if (err instanceof SmtpError) throw err;
        throw smtpError(451, '4.3.0', 'Temporary local problem: cannot store the message, try again later', err);
      }
      if (source.sizeExceeded) {
        scanTap?.abandon();
        await body.discard();
        throw tooBig(maxSize);
      }
      try {
        o.checkHeader?.(rewriter.facts);
      } catch (err) {
        scanTap?.abandon();
        await body.discard();
        throw err;
      }
      let scan: ScanDecision | null = null;
      if (o.scan && deps.scanner) {
        scan = await deps.scanner.decide(scanTap, scanCtx);
        if (scan.kind === 'refuse') {
          await body.discard();
          if (scan.spam) spamOf(o); // refused for good (a deferral counts when it is retried and judged)
          throw scan.error;
        }
      }
      const stored = body.stored();
      let topHeaders: string | null = null;
      try {
        topHeaders = (scan?.headers ?? '') + ((await signer?.signatures()) ?? '') || null;
      } catch (err) {
        await body.discard();
        throw smtpError(451, '4.3.0', 'Temporary local problem: cannot sign the message, try again later', err);
      }
      let verdict: EnqueueVerdict;
      try {
        verdict = await deps.enqueuer.enqueue({
          id: req.queueId,
          customerId: o.customerId,
          mailboxId: o.mailboxId,
          siteId: o.siteId,
          sender: req.sender,
          size: body.bytes(),
          bodyPath: stored.relPath,
          body: stored.body,
          messageIdHeader: rewriter.facts.messageId,
          clientIp: req.clientIp,
          authUser: o.authUser,
          listener: req.listener,
          dsnRet: req.dsnRet,
          dsnEnvid: req.dsnEnvid,
          createdAt: now.getTime(),
          recipients: req.recipients,
          eightBit: cap.eightBit,
          smtputf8: req.smtputf8 ?? false,
          limitScope: o.limitScope,
          onSenderHold: o.onSenderHold,
          heldCap: o.heldCap,
          topHeaders,
          contentHold: scan?.kind === 'hold',
          track: deps.track ?? false,
          subject: rewriter.facts.subject,
        });
      } catch (err) {
        await body.discard();
        throw smtpError(451, '4.3.0', 'Temporary local problem: cannot queue the message, try again later', err);
      }
      if (verdict.outcome === 'held' && verdict.reason === 'content') spamOf(o); // a hold that was stored
      countVerdict(deps.metrics, verdict);
      deps.webhooks?.verdict(
        {
          queueId: req.queueId,
          customerId: o.customerId,
          sender: req.sender,
          recipients: req.recipients.map((r) => r.address),
          messageId: rewriter.facts.messageId,
          from: o.limitScope?.site ? `site:${o.limitScope.site}` : o.authUser,
          at: now.getTime(),
        },
        verdict,
      );
      if (verdict.outcome === 'refused') {
        await body.discard();
        if (verdict.reason === 'customer-suspended') throw because(smtpError(550, '5.7.1', ACCOUNT_SUSPENDED), 'suspended');
        if (verdict.reason === 'mailbox-suspended')
          throw because(smtpError(550, '5.7.1', 'This mailbox is suspended or was removed; contact your provider'), 'suspended');
        if (verdict.reason === 'mailbox-held')
          throw because(
            smtpError(550, '5.7.1', `This ${o.siteId ? 'site' : 'mailbox'} is on hold (suspected misuse); contact your provider`),
            'hold',
          );
        if (verdict.reason === 'held-full') {
          const err = because(
            smtpError(
              451,
              '4.7.1',
              `Too much mail of this ${o.siteId ? 'site' : 'mailbox'} is waiting for the postmaster; try again later`,
            ),
            'hold',
          );
          finerReason.set(err, 'held-full');
          throw err;
        }
        throw limitRefusal(verdict.action, verdict.exceeded);
      }
      return {
        id: req.queueId,
        size: body.bytes(),
        facts: rewriter.facts,
        normalizedLineEnds: guard.normalized,
        dkim: signer ? signer.selectors() : null,
        spamScore: scan?.score ?? null,
        held: verdict.outcome === 'held' ? verdict.exceeded : null,
      };
    },
  };
}

/** Limit hits (each level and action once per message) and message holds of an enqueue verdict. */
function countVerdict(m: Metrics | undefined, v: EnqueueVerdict): void {
  if (!m || v.outcome === 'queued') return;
  const hits = new Set(v.exceeded.map((e) => `${e.rule.level}|${e.rule.action}`));
  for (const h of hits) {
    const [level, action] = h.split('|');
    m.limitHits.inc({ level, action });
  }
  if (v.outcome === 'held') m.holds.inc({ kind: 'message', reason: v.reason === 'mailbox-held' ? 'sender' : (v.reason ?? 'limit') });
}

/** 451 4.7.1 with when to try again (defer), or 550 5.7.1 (reject); names the limit, not the counts of others. */
function limitRefusal(action: 'defer' | 'reject', exceeded: Exceeded[]): SmtpError {
  const worst = exceeded.find((e) => e.rule.action === action) ?? exceeded[0]!;
  if (action === 'reject')
    return because(smtpError(550, '5.7.1', `Sending limit reached: ${describeRule(worst.rule)}; message refused`), 'limit');
  const until = Math.max(...exceeded.filter((e) => e.rule.action === 'defer').map((e) => e.until));
  return because(
    smtpError(
      451,
      '4.7.1',
      `Sending limit reached: ${describeRule(worst.rule)}; try again after ${new Date(until).toISOString().replace('.000', '')}`,
    ),
    'limit',
    until,
  );
}

function tooBig(max: number) {
  return because(smtpError(552, '5.3.4', `Message exceeds the maximum size of ${max} bytes`), 'size');
}

/**
 * Fails the pipeline as soon as the message passes the limit: nothing past it reaches the
 * spool. Also notes whether the message has 8-bit bytes (isAscii is native and fast).
 */
class SizeCap extends Transform {
  private seen = 0;
  eightBit = false;
  private readonly max: number;
  constructor(max: number) {
    super();
    this.max = max;
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.max) return cb(tooBig(this.max));
    if (!this.eightBit && !isAscii(chunk)) this.eightBit = true;
    cb(null, chunk);
  }
}

function drain(source: Readable): void {
  source.on('error', () => undefined);
  source.resume();
}
