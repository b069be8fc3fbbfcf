/**
 * Queues the notice about a sender put on hold (a mailbox or a site, suspected compromise) to
 * its customer's contact and the postmaster, through intake with the null sender. Logs when
 * there is nobody to tell; throws when intake cannot queue it.
 */
import { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { newQueueId } from '../core/index.ts';
import { buildHoldNotice } from './hold-notice.ts';
import { noticeRequest } from './notice-request.ts';

/** What was put on hold: a mailbox, or a site. */
export interface HeldSender {
  kind: 'mailbox' | 'site';
  name: string;
  customerId: number;
  customerName: string;
}

/** Where notices are queued (intake). */
export interface NoticeIntake {
  receive(stream: Readable, request: ReturnType<typeof noticeRequest>): Promise<unknown>;
}

export interface HoldNotifierDeps {
  hostname: string;
  /** From of the notice (MAILER-DAEMON@hostname by default). */
  from: string;
  postmaster: string | null;
  /** The customer's contact address, or null. */
  contactOf(customerName: string): Promise<string | null>;
  intake: NoticeIntake;
  now(): number;
  logger: Logger;
}

export function createHoldNotifier(deps: HoldNotifierDeps): (held: HeldSender, reason: string) => Promise<void> {
  return async (held, reason) => {
    const contact = await deps.contactOf(held.customerName);
    const to = [...new Set([contact, deps.postmaster].filter((a): a is string => !!a))];
    const who = held.kind === 'site' ? { site: held.name } : { mailbox: held.name };
    if (!to.length) {
      deps.logger.warn({ evt: 'contain', ...who, result: 'not-notified' }, 'no customer contact and no bounce.postmaster to notify');
      return;
    }
    const now = deps.now();
    const queueId = newQueueId(now);
    const text = buildHoldNotice({
      hostname: deps.hostname,
      from: deps.from,
      to,
      mailbox: held.name,
      kind: held.kind,
      customer: held.customerName,
      reason,
      now: new Date(now),
    });
    await deps.intake.receive(
      Readable.from([text]),
      noticeRequest({ queueId, to, customerId: held.customerId, listener: 'notice', hostname: deps.hostname }),
    );
    deps.logger.info({ evt: 'contain', ...who, notice: queueId, to }, 'hold notice queued');
  };
}
