/**
 * Admin API routes: the life of an account (operators only): suspend, resume and rename a
 * customer; remove a customer or a domain; move a domain. Removals and moves answer the same
 * plan as the CLI's dry run: with dryRun=true nothing changes, and the change itself needs
 * confirm=true (neither: 422).
 */
import * as z from 'zod';
import { route, type AnyRoute } from '../registry.ts';
import { Customer_, customerView, Domain_, domainView, Name } from '../schemas.ts';
import { AdminError } from '../../errors.ts';
import type { LifecyclePlan } from '../../removal.ts';

const ByName = z.object({ name: Name });
const ByDomain = z.object({ domain: Name });
const Flag = z
  .enum(['true', 'false'])
  .optional()
  .transform((v) => v === 'true');

const Grant_ = z.object({
  holder: z.enum(['mailbox', 'site']),
  name: z.string(),
  kind: z.enum(['address', 'domain', 'null-sender']),
  value: z.string(),
  fate: z.enum(['removed', 'crossing', 'kept']),
});
export const Plan_ = z.object({
  action: z.enum(['customer remove', 'domain remove', 'domain move']),
  target: z.string(),
  customer: z.string(),
  to: z.string().nullable(),
  domains: z.array(z.string()),
  mailboxes: z.array(z.string()),
  sites: z.array(z.string()),
  grants: z.array(Grant_),
  dkim: z
    .array(
      z.object({
        domain: z.string(),
        selector: z.string(),
        algorithm: z.string(),
        state: z.string(),
        record: z.string().describe('the TXT record name'),
        value: z.string(),
      }),
    )
    .describe('removal: their private keys are destroyed, and these records can be removed from DNS; move: kept'),
  routes: z.array(z.string()),
  limits: z.array(z.string()),
  suppressions: z.number().int(),
  webhooks: z.array(z.string()),
  tokens: z.array(z.string()),
  queued: z.array(z.object({ id: z.string(), state: z.string(), sender: z.string() })),
  done: z.boolean().describe('false: a dry run, nothing changed'),
});
const planView = (p: LifecyclePlan, done: boolean): z.input<typeof Plan_> => ({
  ...p,
  grants: p.grants.map(({ id: _id, ...g }) => g),
  done,
});

const Removal = z.object({
  dryRun: Flag.describe('list everything affected, change nothing'),
  confirm: Flag.describe('do it (required unless dryRun)'),
  mode: z
    .enum(['drain', 'bounce'])
    .default('drain')
    .describe('drain: deliver its queued mail first (waiting at most waitSeconds); bounce: fail it back to the senders'),
  waitSeconds: z.coerce.number().int().min(0).max(240).default(60),
});
const RemovalResult_ = Plan_.extend({
  bounced: z.number().int(),
  deleted: z.number().int(),
  webhook: z
    .enum(['none', 'delivered', 'not-delivered'])
    .optional()
    .describe('customer removal: whether its endpoints got customer.removed before they went with it'),
});

function confirmed(q: { dryRun: boolean; confirm: boolean }): void {
  if (q.dryRun && q.confirm) throw new AdminError('give either dryRun=true or confirm=true, not both');
  if (!q.dryRun && !q.confirm) throw new AdminError('this changes a lot: look first with dryRun=true, then confirm with confirm=true');
}

export const lifecycleRoutes: AnyRoute[] = [
  route({
    method: 'post',
    path: '/customers/{name}/suspend',
    tag: 'customers',
    access: 'operator',
    summary: 'Suspend a customer: every mailbox, site and token of it is refused at once; its queued mail is held',
    params: ByName,
    response: z.object({ customer: Customer_, held: z.number().int() }),
    handler: async ({ svc, params }) => {
      const r = await svc.suspendCustomer(params.name);
      return { customer: customerView(r.customer), held: r.held };
    },
  }),
  route({
    method: 'post',
    path: '/customers/{name}/resume',
    tag: 'customers',
    access: 'operator',
    summary: 'Resume a suspended customer (or call off its removal); the mail its suspension held is released',
    params: ByName,
    response: z.object({ customer: Customer_, released: z.number().int() }),
    handler: async ({ svc, params }) => {
      const r = await svc.resumeCustomer(params.name);
      return { customer: customerView(r.customer), released: r.released };
    },
  }),
  route({
    method: 'post',
    path: '/customers/{name}/rename',
    tag: 'customers',
    access: 'operator',
    summary: 'Rename a customer (everything of it follows)',
    params: ByName,
    body: z.object({ to: z.string().min(1).max(63) }).strict(),
    response: Customer_,
    handler: async ({ svc, params, body }) => customerView((await svc.renameCustomer(params.name, body.to)).customer),
  }),
  route({
    method: 'delete',
    path: '/customers/{name}',
    tag: 'customers',
    access: 'operator',
    summary: 'Remove a customer with everything of it (dryRun=true: the plan only; confirm=true: do it)',
    params: ByName,
    query: Removal,
    response: RemovalResult_,
    handler: async ({ svc, params, query, removeBody }) => {
      confirmed(query);
      if (query.dryRun) return { ...planView(await svc.planCustomerRemoval(params.name), false), bounced: 0, deleted: 0 };
      const r = await svc.removeCustomer(params.name, { mode: query.mode, waitMs: query.waitSeconds * 1000, removeBody });
      return { ...planView(r.plan, true), bounced: r.bounced, deleted: r.deleted, webhook: r.webhook };
    },
  }),
  route({
    method: 'delete',
    path: '/domains/{domain}',
    tag: 'domains',
    access: 'operator',
    summary: 'Remove a hosted domain with its mailboxes and DKIM keys (dryRun=true: the plan only; confirm=true: do it)',
    params: ByDomain,
    query: Removal,
    response: RemovalResult_,
    handler: async ({ svc, params, query, removeBody }) => {
      confirmed(query);
      if (query.dryRun) return { ...planView(await svc.planDomainRemoval(params.domain), false), bounced: 0, deleted: 0 };
      const r = await svc.removeDomain(params.domain, { mode: query.mode, waitMs: query.waitSeconds * 1000, removeBody });
      return { ...planView(r.plan, true), bounced: r.bounced, deleted: r.deleted };
    },
  }),
  route({
    method: 'post',
    path: '/domains/{domain}/move',
    tag: 'domains',
    access: 'operator',
    summary: 'Give a domain and its mailboxes to another customer; grants that would cross customers refuse it unless dropCrossingGrants',
    params: ByDomain,
    body: z
      .object({
        customer: Name,
        dryRun: z.boolean().default(false),
        confirm: z.boolean().default(false),
        dropCrossingGrants: z.boolean().default(false),
      })
      .strict(),
    response: Plan_.extend({ domain: Domain_.nullable() }),
    handler: async ({ svc, params, body }) => {
      confirmed(body);
      if (body.dryRun) return { ...planView(await svc.planDomainMove(params.domain, body.customer), false), domain: null };
      const r = await svc.moveDomain(params.domain, body.customer, { dropCrossing: body.dropCrossingGrants });
      return { ...planView(r.plan, true), domain: domainView(r.domain) };
    },
  }),
];
