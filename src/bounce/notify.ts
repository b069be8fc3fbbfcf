/**
 * Sending delivery status notifications: failure reports (bounces), delay warnings and success
 * reports, built by buildDsn and handed to `submit` (intake, with the null sender). Never to
 * the null sender: a failed bounce goes once to the configured postmaster (listener
 * 'postmaster'), and a failed postmaster copy or any other null-sender message is only logged.
 * Throws when submit fails, so the caller can keep the recipients for another try.
 */
import type { Logger } from 'pino';
import type { Readable } from 'node:stream';
import type { DeliveryJob } from '../core/index.ts';
import { buildDsn, type DsnAction, type DsnRecipient } from './dsn.ts';
import type { Metrics } from '../observability/index.ts';

export type NoticeKind = 'failure' | 'delay' | 'success';

/** Listener names of the messages this module queues. */
export const BOUNCE_LISTENER = 'bounce';
export const POSTMASTER_LISTENER = 'postmaster';

export interface NoticeItem {
  address: string;
  orcpt: string | null;
  status: string;
  reply: string;
  /** "name[address]:port" as delivery reports it, or null. */
  remoteHost: string | null;
}

export interface NotifierDeps {
  hostname: string;
  /** From of the notices (MAILER-DAEMON@hostname by default). */
  from: string;
  postmaster: string | null;
  expireMs: number;
  now(): number;
  /** A fresh stream of the original message. */
  original(job: DeliveryJob): Promise<NodeJS.ReadableStream>;
  /** Queues a notice: null sender, one recipient. Resolves with its queue id once durable. */
  submit(notice: { to: string; listener: string; customerId: number | null; stream: Readable }): Promise<string>;
  logger: Logger;
  /** Notices queued (by kind) and dropped are counted (postern_dsn_total). */
  metrics?: Metrics;
}

export interface Notifier {
  /** Resolves with the notice's queue id once it is queued, or null when none is due (no loops). */
  send(job: DeliveryJob, kind: NoticeKind, items: NoticeItem[]): Promise<string | null>;
}

const ACTION: Record<NoticeKind, DsnAction> = { failure: 'failed', delay: 'delayed', success: 'relayed' };

function remoteName(remoteHost: string | null): string | null {
  if (!remoteHost) return null;
  return remoteHost.replace(/\[.*$/, '') || null;
}

export function createNotifier(deps: NotifierDeps): Notifier {
  return {
    async send(job, kind, items) {
      const m = job.message;
      let to = m.sender;
      let listener = BOUNCE_LISTENER;
      if (to === '') {
        // a notice about a null-sender message: only a failed bounce is reported, once
        if (kind === 'failure' && m.listener === BOUNCE_LISTENER && deps.postmaster) {
          to = deps.postmaster;
          listener = POSTMASTER_LISTENER;
        } else {
          if (kind === 'failure') {
            deps.logger.warn(
              { evt: 'bounce', qid: m.id, result: 'dropped', recipients: items.map((i) => i.address), listener: m.listener },
              'undeliverable notice dropped (no loops)',
            );
            deps.metrics?.dsn.inc({ type: 'dropped' });
          }
          return null;
        }
      }
      const now = new Date(deps.now());
      const recipients: DsnRecipient[] = items.map((i) => ({
        finalRecipient: i.address,
        originalRecipient: i.orcpt,
        action: ACTION[kind],
        status: i.status,
        remoteMta: remoteName(i.remoteHost),
        diagnosticCode: i.reply,
        lastAttemptDate: now,
        willRetryUntil: kind === 'delay' ? new Date(m.createdAt + deps.expireMs) : null,
      }));
      const stream = buildDsn({
        reportingMta: deps.hostname,
        postmaster: deps.from,
        to,
        queueId: m.id,
        envelopeId: m.dsnEnvid,
        arrivalDate: new Date(m.createdAt),
        recipients,
        ret: kind === 'failure' && m.dsnRet === 'FULL' ? 'FULL' : 'HDRS',
        original: await deps.original(job),
        now,
        messageIdDomain: deps.hostname,
      });
      const qid = await deps.submit({ to, listener, customerId: m.customerId, stream });
      deps.metrics?.dsn.inc({ type: kind });
      deps.logger.info(
        { evt: 'bounce', qid: m.id, notice: kind, dsn: qid, to, recipients: items.map((i) => i.address) },
        'delivery status notification queued',
      );
      return qid;
    },
  };
}
