/** Part 1 of a DSN: the explanation a person reads (what happened, the reply, what to do). */
import type { DsnAction, DsnInput, DsnRecipient } from './dsn.ts';
import { rfc5322Date } from '../core/index.ts';
import { CRLF, WRAP, clean, cleanHost, statusOf, typedAddress, validDate } from './values.ts';

const INTRO: Record<DsnAction, string> = {
  failed: 'Your message could not be delivered to the recipients below. The mail system has given up ' + 'and will not try again.',
  delayed:
    'Your message has not been delivered yet to the recipients below. There is nothing you need ' +
    'to do now: the mail system keeps trying.',
  delivered: 'Your message was delivered to the mail server of the recipients below.',
  relayed:
    "Your message was passed on to the recipients' mail system, which does not send delivery " + 'reports. You may not hear more about it.',
  expanded: 'Your message was delivered to the addresses below, which forward it to further recipients ' + '(a mailing list or an alias).',
};

/** What to do after a failure, by status code; "x.y." matches a whole subject, "" everything. */
const ADVICE: Array<[status: string, text: string]> = [
  ['5.1.10', "The recipient's domain does not accept mail at all. Check the address for typing mistakes."],
  [
    '5.1.1',
    "This address does not exist at the recipient's mail server. Check it for typing mistakes; if it is right, ask the recipient for a working address.",
  ],
  ['5.1.2', "The recipient's domain does not exist or has no mail server. Check the part after the @ for typing mistakes."],
  ['5.1.', 'The recipient address was not accepted. Check it for typing mistakes.'],
  ['5.2.2', "The recipient's mailbox is full. Try again later, or reach the recipient another way."],
  ['5.2.3', 'The message is too large for the recipient. Send smaller attachments, or share a link instead.'],
  ['5.3.4', 'The message is too large for the recipient. Send smaller attachments, or share a link instead.'],
  ['5.2.', "The recipient's mailbox is disabled or does not accept mail. Reach the recipient another way."],
  ['5.4.', "The recipient's mail server could not be reached. Check the domain for typing mistakes; if it is right, try again later."],
  [
    '5.6.',
    "The recipient's mail server cannot handle this message's format (for example an international address). Try a plain address or a simpler message.",
  ],
  [
    '5.7.',
    "The recipient's mail server refused the message for security or policy reasons (often spam filtering or sender checks such as SPF, DKIM or DMARC). Reach the recipient another way, or send this report to your provider's support.",
  ],
  ['', "Reach the recipient another way, or forward this report to your provider's support: the details below help them."],
];

function advice(status: string): string {
  const hit = ADVICE.find(([p]) => (p === '' || p.endsWith('.') ? status.startsWith(p) : status === p));
  return hit![1];
}

export function humanText(input: DsnInput): string {
  const lines: string[] = [`This is the mail system at ${cleanHost(input.reportingMta)}.`, ''];
  const order: DsnAction[] = ['failed', 'delayed', 'delivered', 'relayed', 'expanded'];
  for (const action of order) {
    const group = input.recipients.filter((r) => r.action === action);
    if (!group.length) continue;
    lines.push(...wrap(INTRO[action], ''), '');
    for (const r of group) lines.push(...recipientText(r, input.localAdvice), '');
  }
  lines.push(
    ...wrap(
      `For your mail administrator: queue ID ${clean(input.queueId)}, received ${rfc5322Date(input.arrivalDate)}. ` +
        `The machine-readable report follows, then the original message${input.ret === 'FULL' ? '' : "'s headers"}.`,
      '',
    ),
  );
  return lines.join(CRLF) + CRLF;
}

function recipientText(r: DsnRecipient, localAdvice?: string): string[] {
  const address = typedAddress(r.finalRecipient).replace(/^[^;]*;\s*/, '');
  const out = [...wrap(address, '  ')];
  const reply = r.diagnosticCode ? readableReply(r.diagnosticCode) : '';
  const remote = r.remoteMta ? cleanHost(r.remoteMta) : '';
  const answered = /^\d{3}([ -]|$)/.test(reply); // an SMTP reply, not our own description
  if (remote && reply) {
    out.push(
      ...wrap(answered ? `The mail server ${remote} answered: ${reply}` : `Problem with the mail server ${remote}: ${reply}`, '    '),
    );
  } else if (reply) out.push(...wrap(`Reason: ${reply}`, '    '));
  else if (remote) out.push(...wrap(`Mail server: ${remote}`, '    '));
  if (r.action === 'failed') out.push(...wrap(`What to do: ${localAdvice ?? advice(statusOf(r))}`, '    '));
  if (r.action === 'delayed') {
    const until = validDate(r.willRetryUntil)
      ? `It keeps trying until ${rfc5322Date(r.willRetryUntil)}.`
      : 'It keeps trying for several days.';
    out.push(...wrap(`${until} If the message is still not delivered by then, it is returned to you with a final report.`, '    '));
  }
  return out;
}

/** A multi-line reply as one sentence: the code prefixes of the continuation lines go. */
function readableReply(reply: string): string {
  const lines = reply.split(/\r?\n/);
  const rest = lines.slice(1).map((l) => l.replace(/^\d{3}[ -](\d\.\d{1,3}\.\d{1,3}\s)?/, ''));
  return clean([lines[0], ...rest].join(' '));
}

/** Wraps at WRAP columns with an indent; words longer than a line are cut. */
function wrap(text: string, indent: string): string[] {
  const width = WRAP - indent.length;
  const lines: string[] = [];
  let line = '';
  for (let word of text.split(' ').filter(Boolean)) {
    while (word.length > width) {
      if (line) lines.push(indent + line);
      lines.push(indent + word.slice(0, width));
      line = '';
      word = word.slice(width);
    }
    if (line && line.length + 1 + word.length > width) {
      lines.push(indent + line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(indent + line);
  return lines;
}

// ---------------------------------------------------------------------------------------------
// Sanitising
