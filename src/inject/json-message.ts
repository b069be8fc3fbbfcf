/**
 * The JSON form of the send API: its schema (which validates requests and, as JSON Schema,
 * describes them in the OpenAPI document), the check of every address it names (an entry that
 * is not a mail address is refused by name, as SMTP would refuse it, instead of being dropped),
 * and the OpenAPI description of POST /api/v1/messages.
 */
import addressparser from 'nodemailer/lib/addressparser';
import * as z from 'zod';
import { parseAddress } from '../core/index.ts';
import { problem, type Problem } from './problem.ts';

const address = z.string().trim().min(3).max(998);
const addresses = z.union([address, z.array(address).max(1000)]).transform((v) => (Array.isArray(v) ? v : [v]));
export const jsonMessage = z
  .object({
    from: address.describe('the sender: an address, or "Name <address>"; the envelope sender too'),
    to: addresses.optional().describe('one address or a list ("Name <address>" allowed)'),
    cc: addresses.optional(),
    bcc: addresses.optional().describe('recipients left out of the headers'),
    replyTo: addresses.optional(),
    subject: z.string().max(998).optional(),
    text: z.string().optional(),
    html: z.string().optional(),
    headers: z
      .record(z.string().regex(/^[\x21-\x39\x3b-\x7e]+$/, 'not a header field name'), z.string().regex(/^[^\r\n]*$/, 'no line breaks'))
      .optional(),
    attachments: z
      .array(
        z
          .object({
            filename: z.string().min(1).max(255),
            content: z
              .string()
              .regex(/^[A-Za-z0-9+/\r\n]*={0,2}\s*$/, 'base64 expected')
              .describe('base64'),
            contentType: z.string().max(255).optional(),
            cid: z.string().max(255).optional(),
          })
          .strict(),
      )
      .max(100)
      .optional(),
  })
  .strict();
export type JsonMessage = z.output<typeof jsonMessage>;

type Entry = { name: string; address?: string; group?: Entry[] };
const flatten = (list: Entry[]): Entry[] => list.flatMap((e) => (e.group ? flatten(e.group) : [e]));

/** The entries of one address field value that are not mail addresses ("not an address", "a@"). */
export function badAddresses(value: string): string[] {
  const entries = flatten(addressparser(value) as Entry[]);
  if (!entries.length) return [value];
  return entries.filter((e) => !e.address || !parseAddress(e.address)).map((e) => (e.address || e.name || value).trim());
}

/**
 * Every address of the message that is not a mail address, as one 400 problem naming each
 * (path and value) with the SMTP reply of the first; null when all are addresses.
 */
export function checkJsonAddresses(m: JsonMessage): Problem | null {
  const errors: { path: string; message: string; smtp: string }[] = [];
  const check = (path: string, value: string, recipient: boolean) => {
    for (const bad of badAddresses(value)) {
      errors.push({
        path,
        message: `"${bad}" is not a mail address (local-part@domain)`,
        smtp: recipient
          ? `553 5.1.3 Recipient address <${bad}> is not a valid address`
          : `553 5.1.7 Sender address <${bad}> is not a valid address`,
      });
    }
  };
  check('from', m.from, false);
  for (const field of ['to', 'cc', 'bcc', 'replyTo'] as const)
    (m[field] ?? []).forEach((v, i) => check(`${field}.${i}`, v, field !== 'replyTo'));
  if (!errors.length) return null;
  const first = errors[0]!;
  const recipient = first.smtp.includes('5.1.3');
  return problem(
    recipient ? 'recipient' : 'bad-request',
    400,
    `${first.path}: ${first.message}${errors.length > 1 ? ` (and ${errors.length - 1} more)` : ''}`,
    {
      smtp: first.smtp,
      errors: errors.map(({ path, message }) => ({ path, message })),
    },
  );
}

const schemaOf = (s: z.ZodType): Record<string, unknown> => {
  const { $schema: _drop, ...rest } = z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
};

/** The OpenAPI operation of POST /api/v1/messages (the send API: site tokens and mailbox logins). */
export function sendApiOperation(problemRef: Record<string, unknown>): Record<string, unknown> {
  const problemResponse = (description: string) => ({ description, content: { 'application/problem+json': { schema: problemRef } } });
  const queued = z.object({
    id: z.string().describe('the queue id'),
    status: z.enum(['queued', 'held']),
    sender: z.string().describe('the envelope sender'),
    recipients: z.array(z.string()).describe('the envelope recipients that were queued'),
    refused: z
      .array(z.object({ address: z.string(), smtp: z.string() }))
      .optional()
      .describe('recipients on the suppression list, left out, each with its SMTP reply'),
  });
  const q = (name: string, description: string) => ({ name, in: 'query', required: false, description, schema: { type: 'string' } });
  return {
    operationId: 'postMessages',
    summary: 'Send a message (raw message/rfc822 with the envelope in the query, or JSON)',
    tags: ['send'],
    'x-access': 'site',
    description:
      'Authenticated by a site token (Authorization: Bearer pst_...) or a mailbox login (Basic, over TLS). Not an admin API token. ' +
      'Refusals carry the SMTP reply an SMTP client would get (smtp).',
    security: [{ siteToken: [] }, { mailboxLogin: [] }],
    parameters: [
      q('from', 'raw only: the envelope sender (default: the From header)'),
      q('to', 'raw only: recipients, repeated or comma-separated'),
      q('extract', 'raw only: 1 to take recipients from To, Cc and Bcc as well (sendmail -t)'),
      q('fullName', 'raw only: the display name of a From header that is added'),
    ],
    requestBody: {
      required: true,
      content: {
        'application/json': { schema: schemaOf(jsonMessage) },
        'message/rfc822': { schema: { type: 'string', format: 'binary' } },
      },
    },
    responses: {
      202: { description: 'Queued (or held)', content: { 'application/json': { schema: schemaOf(queued) } } },
      400: problemResponse('Not valid JSON, a field not valid, an entry that is not a mail address, or no recipients'),
      401: problemResponse('No credentials, or wrong ones'),
      403: problemResponse('The sender may not send as this address, is over a limit, on hold or suspended'),
      413: problemResponse('The message is too large'),
      415: problemResponse('Neither message/rfc822 nor application/json'),
      422: problemResponse('The message is not acceptable (malformed, refused by content)'),
      429: problemResponse('A limit defers the message, or the client address is banned (Retry-After)'),
      503: problemResponse('Temporarily unavailable (Retry-After)'),
    },
  };
}
