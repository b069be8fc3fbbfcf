/** Admin API routes: sites (websites that send without SMTP AUTH) with their tokens and grants. */
import * as z from 'zod';
import { route, type AnyRoute } from '../registry.ts';
import { Limit, Name, Site_, siteView, SiteGrant_, SiteGrantInput, SiteWithToken } from '../schemas.ts';
import { AdminError } from '../../errors.ts';

const ByName = z.object({ name: Name });
const list = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

export const siteRoutes: AnyRoute[] = [
  route({
    method: 'get',
    path: '/sites',
    tag: 'sites',
    access: 'customer',
    summary: 'List sites with their grants',
    query: Limit.extend({ customer: Name.optional() }),
    response: z.object({ sites: z.array(Site_) }),
    handler: async ({ svc, scope, query }) => ({
      sites: (await svc.listSites(query.customer, scope)).slice(0, query.limit).map((r) => siteView(r.site, r.grants)),
    }),
  }),
  route({
    method: 'get',
    path: '/sites/{name}',
    tag: 'sites',
    access: 'customer',
    summary: 'A site with its grants',
    params: ByName,
    response: Site_,
    handler: async ({ svc, scope, params }) => {
      const r = await svc.getSite(params.name, scope);
      return siteView(r.site, r.grants);
    },
  }),
  route({
    method: 'post',
    path: '/sites',
    tag: 'sites',
    access: 'customer',
    summary: 'Add a site; its token is returned once',
    status: 201,
    body: SiteGrantInput.extend({
      name: z.string().min(1).max(63),
      customer: Name,
      unixUser: z.string().min(1).max(32).optional().describe('the unix user its website runs as (operator tokens only)'),
    }).strict(),
    response: SiteWithToken,
    handler: async ({ svc, scope, body }) => {
      if (scope && body.unixUser !== undefined) throw new AdminError('only an operator token may set the unix user of a site', 'forbidden');
      const r = await svc.addSite(
        body.name,
        { customer: body.customer, unixUser: body.unixUser, sendAs: list(body.sendAs), domain: list(body.domain) },
        scope,
      );
      return { site: siteView(r.site, r.grants), token: r.token };
    },
  }),
  route({
    method: 'delete',
    path: '/sites/{name}',
    tag: 'sites',
    access: 'customer',
    summary: 'Delete a site (its token stops working; its queued mail stays)',
    params: ByName,
    response: z.object({ ok: z.literal(true) }),
    handler: async ({ svc, scope, params }) => (await svc.removeSite(params.name, scope), { ok: true as const }),
  }),
  route({
    method: 'post',
    path: '/sites/{name}/token',
    tag: 'sites',
    access: 'customer',
    summary: 'A new token for a site (returned once); the old one stops working at once',
    params: ByName,
    response: z.object({ name: z.string(), token: z.string() }),
    handler: async ({ svc, scope, params }) => {
      const r = await svc.rotateSiteToken(params.name, scope);
      return { name: r.site.name, token: r.token };
    },
  }),
  route({
    method: 'post',
    path: '/sites/{name}/grants',
    tag: 'sites',
    access: 'customer',
    summary: 'Let a site send as more addresses or domains of its customer',
    status: 201,
    params: ByName,
    body: SiteGrantInput,
    response: z.object({ added: z.array(SiteGrant_) }),
    handler: async ({ svc, scope, params, body }) => ({
      added: (await svc.grantSite(params.name, { sendAs: list(body.sendAs), domain: list(body.domain) }, scope)).added,
    }),
  }),
  route({
    method: 'delete',
    path: '/sites/{name}/grants',
    tag: 'sites',
    access: 'customer',
    summary: 'Take grants of a site back (sendAs and/or domain in the query)',
    params: ByName,
    query: z.object({ sendAs: z.string().min(1).max(320).optional(), domain: z.string().min(1).max(253).optional() }),
    response: z.object({ removed: z.array(SiteGrant_) }),
    handler: async ({ svc, scope, params, query }) => ({
      removed: (await svc.revokeSite(params.name, { sendAs: list(query.sendAs), domain: list(query.domain) }, scope)).removed,
    }),
  }),
];
