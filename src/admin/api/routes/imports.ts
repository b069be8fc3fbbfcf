/** Admin API routes: mailbox and grant imports, and a mailbox's app passwords. */
import * as z from 'zod';
import { route, type AnyRoute } from '../registry.ts';
import { Mailbox_, mailboxView, Time } from '../schemas.ts';
import { IMPORT_FORMATS } from '../../import.ts';

const ByAddress = z.object({ address: z.string().min(3).max(320) });
const ByName = ByAddress.extend({ name: z.string().min(1).max(63) });
const Report = z.object({
  added: z.number().int(),
  updated: z.number().int(),
  unchanged: z.number().int(),
  refused: z.array(z.object({ line: z.number().int(), error: z.string() })).describe('lines not applied, with why; the others were'),
});
const AppPassword_ = z.object({ name: z.string(), createdAt: Time, lastUsedAt: Time.nullable(), lastIp: z.string().nullable() });
const appView = (a: { name: string; createdAt: number; lastUsedAt: number | null; lastIp: string | null }) => ({
  name: a.name,
  createdAt: new Date(a.createdAt).toISOString(),
  lastUsedAt: a.lastUsedAt === null ? null : new Date(a.lastUsedAt).toISOString(),
  lastIp: a.lastIp,
});

export const importRoutes: AnyRoute[] = [
  route({
    method: 'post',
    path: '/mailboxes/import',
    tag: 'mailboxes',
    access: 'customer',
    summary:
      'Bring mailboxes in with their existing password hashes (postern mailbox import); a customer token imports into its own domains',
    body: z
      .object({
        format: z.enum(IMPORT_FORMATS),
        content: z.string().min(1).describe("the file's text"),
        domain: z.string().min(1).max(253).optional().describe('the domain of bare user names'),
      })
      .strict(),
    response: Report,
    handler: async ({ svc, scope, body }) => svc.importMailboxes(body.content, { format: body.format, domain: body.domain }, scope),
  }),
  route({
    method: 'post',
    path: '/grants/import',
    tag: 'grants',
    access: 'customer',
    summary: 'Send-as grants from a Postfix smtpd_sender_login_maps file (postern grant import)',
    body: z.object({ content: z.string().min(1).describe('the file\'s text: "ADDRESS  login1, login2" per line') }).strict(),
    response: Report,
    handler: async ({ svc, scope, body }) => svc.importGrants(body.content, scope),
  }),
  route({
    method: 'get',
    path: '/mailboxes/{address}/app-passwords',
    tag: 'mailboxes',
    access: 'customer',
    summary: "A mailbox's app passwords (never the passwords)",
    params: ByAddress,
    response: z.object({ appPasswordsOnly: z.boolean(), appPasswords: z.array(AppPassword_) }),
    handler: async ({ svc, scope, params }) => {
      const r = await svc.listAppPasswords(params.address, scope);
      return { appPasswordsOnly: r.mailbox.appPasswordsOnly, appPasswords: r.appPasswords.map(appView) };
    },
  }),
  route({
    method: 'post',
    path: '/mailboxes/{address}/app-passwords',
    tag: 'mailboxes',
    access: 'customer',
    summary: 'Make a named app password (returned once)',
    status: 201,
    params: ByAddress,
    body: z.object({ name: z.string().min(1).max(63) }).strict(),
    response: z.object({ appPassword: AppPassword_, password: z.string().describe('shown once') }),
    handler: async ({ svc, scope, params, body }) => {
      const r = await svc.addAppPassword(params.address, body.name, scope);
      return { appPassword: appView(r.appPassword), password: r.password };
    },
  }),
  route({
    method: 'delete',
    path: '/mailboxes/{address}/app-passwords/{name}',
    tag: 'mailboxes',
    access: 'customer',
    summary: 'Revoke an app password (its next login fails)',
    params: ByName,
    response: z.object({ ok: z.literal(true) }),
    handler: async ({ svc, scope, params }) => (await svc.revokeAppPassword(params.address, params.name, scope), { ok: true as const }),
  }),
  route({
    method: 'put',
    path: '/mailboxes/{address}/app-passwords-only',
    tag: 'mailboxes',
    access: 'customer',
    summary: "On: the mailbox's own password no longer logs in on the submission ports, only its app passwords",
    params: ByAddress,
    body: z.object({ on: z.boolean() }).strict(),
    response: Mailbox_,
    handler: async ({ svc, scope, params, body }) => mailboxView(await svc.setAppPasswordsOnly(params.address, body.on, scope)),
  }),
];
