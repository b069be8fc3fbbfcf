/**
 * Admin API routes: the suppression list (recipients a customer's mail is refused for). A
 * customer token reads and changes its own list only; naming another customer is answered
 * exactly like naming a missing one (404).
 */
import * as z from 'zod';
import type { Suppression } from '../../../core/index.ts';
import type { AdminService } from '../../service.ts';
import type { TenantScope } from '../../errors.ts';
import { route, type AnyRoute } from '../registry.ts';
import { Limit, Name, Time } from '../schemas.ts';

const iso = (ms: number) => new Date(ms).toISOString();
const Address = z.string().min(3).max(320);

export const Suppression_ = z.object({
  customer: z.string(),
  address: z.string(),
  reason: z.string(),
  source: z.enum(['bounce', 'operator']),
  createdAt: Time,
  updatedAt: Time.describe('when it was last suppressed (the latest bounce or entry)'),
  until: Time,
});
const view = (s: Suppression): z.input<typeof Suppression_> => ({
  customer: s.customerName,
  address: s.address,
  reason: s.reason,
  source: s.source,
  createdAt: iso(s.createdAt),
  updatedAt: iso(s.updatedAt),
  until: iso(s.until),
});

/**
 * The suppression scope of a request: none for an operator; a customer token's own customer,
 * after checking that a customer it names is visible to it (another one: 404 like a missing one).
 */
async function scoped(
  svc: AdminService,
  scope: TenantScope | undefined,
  named: string | undefined,
): Promise<{ customer: string } | undefined> {
  if (!scope) return undefined;
  if (named !== undefined) await svc.getCustomer(named, scope);
  return { customer: scope.customerName };
}

export const suppressionRoutes: AnyRoute[] = [
  route({
    method: 'get',
    path: '/suppressions',
    tag: 'suppressions',
    access: 'customer',
    summary: 'Suppressed recipients in force, newest first (a customer token: its own)',
    query: Limit.extend({
      customer: Name.optional().describe('only this customer (operator tokens)'),
      address: Address.optional().describe('only this address'),
    }),
    response: z.object({ suppressions: z.array(Suppression_) }),
    handler: async ({ svc, scope, query }) => {
      const sc = await scoped(svc, scope, query.customer);
      return {
        suppressions: (
          await svc.listSuppressions({ customer: sc ? undefined : query.customer, address: query.address, limit: query.limit }, sc)
        ).map(view),
      };
    },
  }),
  route({
    method: 'post',
    path: '/suppressions',
    tag: 'suppressions',
    access: 'customer',
    summary: 'Suppress a recipient for a customer: its mail to it is refused with 550 5.1.1',
    status: 201,
    body: z
      .object({
        address: Address,
        customer: Name.optional().describe('required with an operator token; a customer token: its own'),
        days: z.number().positive().max(3650).optional().describe('for this many days (default suppression.days)'),
        reason: z.string().min(1).max(500).optional().describe('why (shown in the refusal); one line'),
      })
      .strict(),
    response: Suppression_,
    handler: async ({ svc, scope, body }) => {
      const sc = await scoped(svc, scope, body.customer);
      return view(
        await svc.addSuppression(body.address, { customer: sc ? undefined : body.customer, days: body.days, reason: body.reason }, sc),
      );
    },
  }),
  route({
    method: 'delete',
    path: '/suppressions/{customer}/{address}',
    tag: 'suppressions',
    access: 'customer',
    summary: "Lift a suppression: the customer's mail to the address is accepted again at once",
    params: z.object({ customer: Name, address: Address }),
    response: z.object({ customer: z.string(), address: z.string() }),
    handler: async ({ svc, scope, params }) => {
      const sc = await scoped(svc, scope, params.customer);
      return svc.removeSuppression(params.address, { customer: sc ? undefined : params.customer }, sc);
    },
  }),
];
