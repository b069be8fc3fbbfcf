/**
 * The notice sent when a mailbox is put on hold (suspected compromise): a plain text message to
 * the customer's contact and the postmaster, saying what was seen and what to do. Pure: builds
 * the message, never sends it.
 */
import { randomBytes } from 'node:crypto';
import { rfc5322Date } from '../core/index.ts';
import { clean } from './values.ts';

export interface HoldNoticeInput {
  hostname: string;
  from: string;
  to: string[];
  /** The mailbox's address, or the site's name (with kind 'site'). */
  mailbox: string;
  kind?: 'mailbox' | 'site';
  customer: string;
  reason: string;
  now: Date;
}

export function buildHoldNotice(n: HoldNoticeInput): Buffer {
  const lines = [
    `From: Mail Delivery System <${n.from}>`,
    `To: ${n.to.map((a) => `<${clean(a)}>`).join(', ')}`,
    `Subject: Sending from ${n.kind === 'site' ? 'the website ' : ''}${clean(n.mailbox)} was stopped (suspected misuse)`,
    `Date: ${rfc5322Date(n.now)}`,
    `Message-ID: <${randomBytes(12).toString('hex')}@${n.hostname}>`,
    'Auto-Submitted: auto-generated',
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
    '',
    `This is the mail system at ${n.hostname}.`,
    '',
    `The ${n.kind === 'site' ? 'site (website)' : 'mailbox'} ${clean(n.mailbox)} (customer ${clean(n.customer)}) was put on hold at`,
    `${n.now.toISOString()} because it showed signs of misuse:`,
    '',
    `  ${clean(n.reason)}`,
    '',
    ...(n.kind === 'site'
      ? [
          'New mail from this website is kept back (or refused) until the hold is released; nothing',
          'was deleted. If the website did not mean to send this mail, a form or a plugin has',
          'probably been abused: fix or update it, then ask your provider to release the hold.',
        ]
      : [
          'New mail from this mailbox is kept back (or refused) until the hold is released; nothing',
          'was deleted. If you did not send this mail, the password has probably been stolen:',
          'change it, check the computers and phones that use it, then ask your provider to release',
          'the hold. If the mail was yours, ask your provider to release it and, if needed, to raise',
          'the limits of this mailbox.',
        ]),
    '',
    `For the postmaster: postern hold list; postern hold release ${n.kind === 'site' ? 'site:' : ''}${clean(n.mailbox)};`,
    `postern hold purge ${n.kind === 'site' ? 'site:' : ''}${clean(n.mailbox)} to delete what was kept back.`,
    '',
  ];
  return Buffer.from(lines.join('\r\n'), 'utf8');
}
