/**
 * Why a message was not delivered, in plain words for the customer: the remote server's reply
 * (its enhanced status code, RFC 3463) and the category delivery/classify gave it, or the
 * reason Postern itself refused or held it. The rules are DATA: one ordered table, first match
 * wins. Pure; never throws.
 */

export interface Reason {
  /** The enhanced status code matches this ("5.1.1"). */
  code?: RegExp;
  /** The event's category (delivery/classify, a refusal or hold reason) is one of these. */
  category?: readonly string[];
  text: string;
}

/** First match wins: giving up after retries, specific codes, then categories, then the code's class. */
export const REASONS: readonly Reason[] = [
  {
    category: ['expired'],
    text: "Postern tried again and again for the whole retry period and then gave up: the recipient's server kept answering with a temporary problem, or could not be reached.",
  },
  {
    code: /^5\.1\.[0136]$/,
    text: "The recipient's server said the mailbox does not exist: the address is misspelt, or the account was closed. Check the address with the recipient.",
  },
  {
    code: /^[45]\.1\.(2|10)$/,
    text: "The recipient's domain does not receive mail (the domain does not exist or publishes no mail server). Check the part of the address after the @.",
  },
  { code: /^5\.2\.2$/, text: "The recipient's mailbox is full. The recipient must make room before mail can arrive; try again later." },
  { code: /^4\.2\.2$/, text: "The recipient's mailbox is full for now. Postern keeps trying for a while." },
  { code: /^[45]\.2\.1$/, text: "The recipient's mailbox is disabled: it does not take mail at the moment." },
  {
    code: /^[45]\.(3\.4|2\.3)$/,
    text: "The message is too large for the recipient's server. Send smaller attachments, or a link instead.",
  },
  {
    code: /^5\.6\.\d+$/,
    text: "The recipient's server could not accept the format or the content of the message (for example its encoding or an attachment).",
  },
  {
    code: /^[45]\.7\.\d+$/,
    category: ['spam'],
    text: "The recipient's server refused the message as spam, or because of the reputation of the sending server. Ask your provider if this keeps happening.",
  },
  {
    code: /^4\.7\.\d+$/,
    category: ['greylisted'],
    text: "The recipient's server asked to try again later (greylisting). This is normal; Postern tries again.",
  },
  {
    code: /^4\.7\.\d+$/,
    category: ['rate-limited'],
    text: "The recipient's server receives too much mail from us right now. Postern tries again later.",
  },
  { code: /^[45]\.7\.(1[0-2]|15|5)$/, text: "The recipient's server and ours could not agree on encryption or authentication." },
  {
    code: /^5\.7\.\d+$/,
    text: "The recipient's server refused the message by its policy: it does not accept this sender, this content or mail from our server.",
  },
  { code: /^4\.7\.\d+$/, text: "The recipient's server refused the message for now by its policy. Postern tries again for a while." },
  {
    category: ['mailbox-unknown'],
    text: "The recipient's server said the mailbox does not exist: the address is misspelt, or the account was closed. Check the address with the recipient.",
  },
  { category: ['mailbox-full'], text: "The recipient's mailbox is full." },
  { category: ['message-too-big', 'size'], text: 'The message is too large. Send smaller attachments, or a link instead.' },
  { category: ['spam'], text: "The recipient's server refused the message as spam, or because of the reputation of the sending server." },
  {
    category: ['policy'],
    text: "The recipient's server refused the message by its policy: it does not accept this sender, this content or mail from our server.",
  },
  { category: ['greylisted'], text: "The recipient's server asked to try again later (greylisting). This is normal; Postern tries again." },
  { category: ['rate-limited'], text: "The recipient's server receives too much mail from us right now. Postern tries again later." },
  { category: ['network'], text: "Our server could not connect to the recipient's server." },
  { category: ['timeout'], text: "The recipient's server did not answer in time." },
  {
    category: ['dns'],
    text: "The recipient's mail server could not be found in the DNS (the domain may be misspelt, or its DNS is failing).",
  },
  { category: ['tls'], text: "The recipient's server and ours could not agree on encryption." },
  { category: ['protocol'], text: "The recipient's server answered in a way our server could not understand." },
  {
    category: ['suppressed'],
    text: 'The recipient is on your suppression list after an earlier permanent failure, so Postern did not try. Remove it from the list if the address works again.',
  },
  {
    category: ['limit'],
    text: 'A sending limit was reached, so the message was refused. Try again later, or ask your provider for a higher limit.',
  },
  { category: ['send-as'], text: 'The sender address is not one this login may use.' },
  { category: ['hold'], text: 'The message is held for a check by your provider before it is sent.' },
  { category: ['content'], text: 'The message was refused because of its content (a virus or spam check).' },
  { code: /^4\.\d+\.\d+$/, text: "A temporary problem at the recipient's server. Postern tries again for a while." },
  { code: /^5\.\d+\.\d+$/, text: "The recipient's server refused the message permanently." },
];

/** The enhanced status code of a reply ("550 5.1.1 no such user" -> "5.1.1"), or null. */
export function enhancedOf(reply: string | null | undefined): string | null {
  const m = /^\s*(?:\d{3}[ -])?([245]\.\d{1,3}\.\d{1,3})(?:\s|$)/.exec(reply ?? '');
  if (m) return m[1]!;
  const basic = /^\s*([45])\d\d(?:[ -]|$)/.exec(reply ?? '');
  return basic ? `${basic[1]}.0.0` : null;
}

/** The plain-language reason for a reply and its category, or null when nothing fits. */
export function explain(reply: string | null | undefined, category: string | null | undefined): string | null {
  const code = enhancedOf(reply);
  for (const r of REASONS) {
    if (r.code && (!code || !r.code.test(code))) continue;
    if (r.category && (!category || !r.category.includes(category))) continue;
    return r.text;
  }
  return null;
}
