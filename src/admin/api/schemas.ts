/**
 * The JSON shapes of the admin API: what requests carry and what responses say, as zod schemas
 * (the same ones validate requests, check responses and make the OpenAPI document), with the
 * views that turn store records into them (times as ISO 8601, never a secret or a hash).
 */
import * as z from 'zod';
import type {
  ApiToken,
  AttemptRecord,
  Customer,
  DkimKey,
  Domain,
  IpBan,
  Mailbox,
  QueuedMessage,
  Route,
  SenderGrant,
  Site,
  SiteGrant,
  AuditRecord,
} from '../../core/index.ts';
import { publicMessage } from '../service.ts';
import { apiJson } from '../json.ts';
import { ACTIONS, LEVELS, METRICS, WINDOWS } from '../../limits/index.ts';

const iso = (ms: number): string => new Date(ms).toISOString();
const isoOrNull = (ms: number | null): string | null => (ms === null ? null : iso(ms));

export const Time = z.string().describe('ISO 8601 time (UTC)');
export const Name = z.string().min(1).max(255);
/** List endpoints: at most this many items (default 100). */
export const Limit = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100).describe('at most this many items (1-1000, default 100)'),
});

export const Problem = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    reason: z.string(),
    errors: z
      .array(z.object({ path: z.string(), message: z.string() }))
      .optional()
      .describe('field errors of the request (400 / 422)'),
    retryAfter: z.number().int().optional(),
  })
  .describe('RFC 9457 problem details');

export const Customer_ = z.object({
  name: z.string(),
  contact: z.string().nullable(),
  status: z
    .enum(['active', 'suspended', 'removing'])
    .describe('suspended: every mailbox, site and token of it is refused; removing: the same, while its queued mail drains'),
  suspendedAt: Time.nullable(),
  createdAt: Time,
});
export const customerView = (c: Customer): z.input<typeof Customer_> => ({
  name: c.name,
  contact: c.contact,
  status: c.status,
  suspendedAt: isoOrNull(c.suspendedAt),
  createdAt: iso(c.createdAt),
});

export const Domain_ = z.object({ name: z.string(), customer: z.string(), createdAt: Time });
export const domainView = (d: Domain): z.input<typeof Domain_> => ({ name: d.name, customer: d.customerName, createdAt: iso(d.createdAt) });

export const Mailbox_ = z.object({
  address: z.string(),
  customer: z.string(),
  status: z.enum(['active', 'suspended']),
  heldSince: Time.nullable().describe('on hold (suspected compromise) since, or null'),
  holdReason: z.string().nullable(),
  source: z
    .enum(['postern', 'import', 'dovecot'])
    .describe('added in Postern, imported with its hash, or made at its first login through Dovecot'),
  appPasswordsOnly: z.boolean().describe('its own password is refused on the submission ports'),
  createdAt: Time,
  updatedAt: Time,
});
export const mailboxView = (m: Mailbox): z.input<typeof Mailbox_> => ({
  address: m.address,
  customer: m.customerName,
  status: m.status,
  heldSince: isoOrNull(m.heldSince),
  holdReason: m.holdReason,
  source: m.source,
  appPasswordsOnly: m.appPasswordsOnly,
  createdAt: iso(m.createdAt),
  updatedAt: iso(m.updatedAt),
});
export const MailboxDetail = Mailbox_.extend({ login: z.object({ failures: z.number().int(), lockedUntil: Time.nullable() }) });
/** A mailbox with the password that was generated for it (shown once), or null when one was given. */
export const MailboxWithPassword = z.object({
  mailbox: Mailbox_,
  password: z.string().nullable().describe('the generated password, shown once; null when the request gave one'),
});

export const GrantKind = z.enum(['address', 'domain', 'null-sender']);
export const Grant = z.object({ kind: GrantKind, value: z.string().describe('the address, the domain, or "" for the null sender') });
export const grantView = (g: Pick<SenderGrant, 'kind' | 'value'>): z.input<typeof Grant> => ({ kind: g.kind, value: g.value });
/** A grant named in a request: sendAs (an address, or "<>" for the null sender) or domain. */
export const GrantInput = z
  .object({ sendAs: z.string().min(1).max(320).optional(), domain: z.string().min(1).max(253).optional() })
  .strict()
  .refine((g) => (g.sendAs === undefined) !== (g.domain === undefined), { message: 'give either sendAs or domain' });

export const SiteGrant_ = z.object({ kind: z.enum(['address', 'domain']), value: z.string() });
export const Site_ = z.object({
  name: z.string(),
  customer: z.string(),
  unixUser: z.string().nullable(),
  heldSince: Time.nullable(),
  holdReason: z.string().nullable(),
  createdAt: Time,
  updatedAt: Time,
  grants: z.array(SiteGrant_),
});
export const siteView = (s: Site, grants: Pick<SiteGrant, 'kind' | 'value'>[]): z.input<typeof Site_> => ({
  name: s.name,
  customer: s.customerName,
  unixUser: s.unixUser,
  heldSince: isoOrNull(s.heldSince),
  holdReason: s.holdReason,
  createdAt: iso(s.createdAt),
  updatedAt: iso(s.updatedAt),
  grants: grants.map((g) => ({ kind: g.kind, value: g.value })),
});
const many = (max: number) => z.union([z.string().min(1).max(320), z.array(z.string().min(1).max(320)).max(max)]).optional();
export const SiteGrantInput = z.object({ sendAs: many(100), domain: many(100) }).strict();
export const SiteWithToken = z.object({ site: Site_, token: z.string().describe('the site token, shown once') });

export const LimitRule_ = z.object({
  level: z.enum(LEVELS),
  target: z.string(),
  window: z.enum(WINDOWS),
  metric: z.enum(METRICS),
  max: z.number().int(),
  action: z.enum(ACTIONS),
  usage: z.number().int().nullable().describe('use in the running window (null: a default rule listed without a target)'),
  windowStart: Time.nullable(),
});
export const limitView = (r: {
  level: string;
  target: string;
  window: string;
  metric: string;
  max: number;
  action: string;
  usage: number | null;
  windowStart: number | null;
}) => ({ ...r, windowStart: isoOrNull(r.windowStart) }) as z.input<typeof LimitRule_>;

export const Route_ = z.object({
  domain: z.string(),
  host: z.string(),
  port: z.number().int(),
  tls: z.enum(['none', 'opportunistic', 'required']),
  login: z.string().nullable().describe('login at the next hop (its password is never shown)'),
  createdAt: Time,
  updatedAt: Time,
});
export const routeView = (r: Route): z.input<typeof Route_> => ({
  domain: r.domain,
  host: r.host,
  port: r.port,
  tls: r.tls,
  login: r.authUser,
  createdAt: iso(r.createdAt),
  updatedAt: iso(r.updatedAt),
});

export const DkimRecord = z.object({
  selector: z.string(),
  algorithm: z.enum(['rsa-sha256', 'ed25519-sha256']),
  state: z.enum(['pending', 'active', 'retiring', 'retired']),
  createdAt: Time,
  activatedAt: Time.nullable(),
  retiringAt: Time.nullable(),
  name: z.string().describe('DNS name of the TXT record'),
  value: z.string().describe('TXT value'),
  zone: z.string().describe('the record as a zone file line'),
});
export const dkimView = (k: {
  selector: string;
  algorithm: DkimKey['algorithm'];
  state: DkimKey['state'];
  createdAt: number;
  activatedAt: number | null;
  retiringAt: number | null;
  name: string;
  value: string;
  zone: string;
}) => ({ ...k, createdAt: iso(k.createdAt), activatedAt: isoOrNull(k.activatedAt), retiringAt: isoOrNull(k.retiringAt) });
export const DnsRecord_ = z.object({
  name: z.string(),
  type: z.enum(['SRV', 'CNAME', 'TXT', 'NOTE']),
  value: z.string().nullable().describe('null for a NOTE (advice, no record)'),
  why: z.string(),
});

const Recipient = z.object({
  address: z.string(),
  state: z.enum(['queued', 'delivered', 'deferred', 'failed']),
  attempts: z.number().int(),
  nextAttemptAt: Time.nullable(),
  lastAttemptAt: Time.nullable(),
  lastReply: z.string().nullable(),
  remoteHost: z.string().nullable(),
});
export const Message = z.object({
  id: z.string(),
  state: z.enum(['queued', 'held', 'cancelled']),
  holdReason: z.string().nullable(),
  sender: z.string(),
  size: z.number().int(),
  customer: z.string().nullable(),
  authUser: z.string().nullable(),
  site: z.string().nullable(),
  clientIp: z.string(),
  listener: z.string(),
  messageId: z.string().nullable(),
  createdAt: Time,
  recipients: z.array(Recipient),
});
export const messageView = (m: QueuedMessage): z.input<typeof Message> => publicMessage(m) as z.input<typeof Message>;
export const Attempt = z.object({
  recipientIdx: z.number().int(),
  at: Time,
  outcome: z.enum(['delivered', 'deferred', 'failed']),
  category: z.string(),
  reply: z.string(),
  remoteHost: z.string().nullable(),
});
export const attemptView = (a: AttemptRecord): z.input<typeof Attempt> => ({ ...a, at: iso(a.at) });

export const Ban = z.object({ ip: z.string(), reason: z.string(), failures: z.number().int(), bannedUntil: Time, createdAt: Time });
export const banView = (b: IpBan): z.input<typeof Ban> => ({ ...b, bannedUntil: iso(b.bannedUntil), createdAt: iso(b.createdAt) });

export const AuditEntry = z.object({
  id: z.number().int(),
  at: Time,
  actor: z.string(),
  action: z.string(),
  target: z.string(),
  before: z.unknown(),
  after: z.unknown(),
});
/** The before and after of a record are objects of their time (with their times as ISO 8601 too). */
export const auditView = (r: AuditRecord): z.input<typeof AuditEntry> => ({
  ...r,
  at: iso(r.at),
  before: apiJson(r.before),
  after: apiJson(r.after),
});

export const Token_ = z.object({
  name: z.string(),
  scope: z.string().describe('"operator" or "customer:NAME"'),
  createdAt: Time,
  lastUsedAt: Time.nullable(),
  revokedAt: Time.nullable(),
});
export const tokenView = (t: ApiToken): z.input<typeof Token_> => ({
  name: t.name,
  scope: t.customerName === null ? 'operator' : `customer:${t.customerName}`,
  createdAt: iso(t.createdAt),
  lastUsedAt: isoOrNull(t.lastUsedAt),
  revokedAt: isoOrNull(t.revokedAt),
});

export { iso, isoOrNull };
