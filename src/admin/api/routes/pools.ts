/** Admin API routes: egress pools (configured in delivery.pools) and their assignments (operators only). */
import * as z from 'zod';
import { route, type AnyRoute } from '../registry.ts';
import { Name } from '../schemas.ts';
import { poolTargetOf, publicAssignment, publicListing } from '../../pools.ts';

const Kind = z.enum(['customer', 'domain', 'site']);
const Assignment_ = z.object({
  kind: Kind,
  name: z.string(),
  customer: z.string(),
  pool: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
const Pool_ = z.object({
  name: z.string(),
  addresses: z.array(z.string()),
  helo: z.string(),
  select: z.enum(['hash', 'round-robin']),
  concurrency: z.number().int().nullable(),
  isDefault: z.boolean(),
  assignments: z.number().int(),
});
const Listing_ = z
  .object({
    address: z.string(),
    zone: z.string(),
    listed: z.boolean(),
    codes: z.array(z.string()),
    meaning: z.string().nullable(),
    checkedAt: z.string(),
    listedSince: z.string().nullable(),
  })
  .describe("the latest answer of one blocklist about one of the pool's addresses");
const Check_ = z.object({
  domain: z.string(),
  ok: z.boolean(),
  items: z.array(
    z.object({
      id: z.string(),
      status: z.enum(['ok', 'warn', 'fail']),
      summary: z.string(),
      detail: z.string().optional(),
      publish: z.object({ name: z.string(), type: z.string(), value: z.string() }).optional(),
    }),
  ),
});
const Target = z
  .object({
    customer: Name.optional().describe('all mail of a customer'),
    domain: Name.optional().describe("mail sent as a hosted domain (wins over its customer's pool)"),
    site: Name.optional().describe("mail of a site (wins over its domain's and customer's)"),
  })
  .strict();

export const poolRoutes: AnyRoute[] = [
  route({
    method: 'get',
    path: '/pools',
    tag: 'pools',
    access: 'operator',
    summary: 'The configured egress pools with how many customers, domains and sites each has',
    response: z.object({ pools: z.array(Pool_) }),
    handler: async ({ svc }) => ({ pools: await svc.listPools() }),
  }),
  route({
    method: 'get',
    path: '/pools/{name}',
    tag: 'pools',
    access: 'operator',
    summary: 'One pool with its assignments (configured: false for a pool that is assigned but no longer configured)',
    params: z.object({ name: Name }),
    response: Pool_.extend({ configured: z.boolean(), assigned: z.array(Assignment_), blocklists: z.array(Listing_) }),
    handler: async ({ svc, params }) => {
      const p = await svc.showPool(params.name);
      return { ...p, assigned: p.assigned.map(publicAssignment), blocklists: p.blocklists.map(publicListing) };
    },
  }),
  route({
    method: 'get',
    path: '/pools/{name}/check',
    tag: 'pools',
    access: 'operator',
    summary:
      'Live DNS check of a pool: PTR of each address (forward-confirmed, matching the HELO name), the HELO name, SPF of every domain sending from it; with what to publish',
    params: z.object({ name: Name }),
    response: Check_,
    handler: async ({ svc, params }) => svc.checkPool(params.name),
  }),
  route({
    method: 'put',
    path: '/pools/{name}/assignments',
    tag: 'pools',
    access: 'operator',
    summary: 'Send the mail of one customer, domain or site from this pool (replaces its earlier pool)',
    params: z.object({ name: Name }),
    body: Target,
    response: Assignment_,
    handler: async ({ svc, params, body }) => {
      const t = poolTargetOf(body);
      return publicAssignment(await svc.assignPool(t.kind, t.name, params.name));
    },
  }),
  route({
    method: 'get',
    path: '/pool-assignments',
    tag: 'pools',
    access: 'operator',
    summary: 'Every pool assignment (of one customer when asked)',
    query: z.object({ customer: Name.optional() }),
    response: z.object({ assignments: z.array(Assignment_) }),
    handler: async ({ svc, query }) => ({ assignments: (await svc.listPoolAssignments(query.customer)).map(publicAssignment) }),
  }),
  route({
    method: 'delete',
    path: '/pool-assignments/{kind}/{name}',
    tag: 'pools',
    access: 'operator',
    summary: 'Remove the pool of a customer, domain or site (the next less specific pool applies)',
    params: z.object({ kind: Kind, name: Name }),
    response: z.object({ ok: z.literal(true) }),
    handler: async ({ svc, params }) => (await svc.unassignPool(params.kind, params.name), { ok: true as const }),
  }),
];
