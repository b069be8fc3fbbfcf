/** Admin API routes: customers, domains (with their DNS records and DKIM keys), mailboxes and their sender grants. */
import * as z from 'zod';
import { route, type AnyRoute } from '../registry.ts';
import {
  Customer_,
  customerView,
  Domain_,
  domainView,
  Mailbox_,
  mailboxView,
  MailboxDetail,
  MailboxWithPassword,
  Grant,
  grantView,
  GrantInput,
  DnsRecord_,
  DkimRecord,
  dkimView,
  Limit,
  Name,
  isoOrNull,
} from '../schemas.ts';
import { AdminError } from '../../errors.ts';

const ByName = z.object({ name: Name });
const ByDomain = z.object({ domain: Name });
const ByAddress = z.object({ address: z.string().min(3).max(320) });
const Password = z
  .string()
  .min(1)
  .max(1024)
  .describe('at least 8 characters, no control characters; omitted: one is generated and returned once');
const Ok = z.object({ ok: z.literal(true) });

export const customerRoutes: AnyRoute[] = [
  route({
    method: 'get',
    path: '/customers',
    tag: 'customers',
    access: 'customer',
    summary: 'List customers (a customer token sees its own)',
    query: Limit,
    response: z.object({ customers: z.array(Customer_) }),
    handler: async ({ svc, scope, query }) => ({ customers: (await svc.listCustomers(scope)).slice(0, query.limit).map(customerView) }),
  }),
  route({
    method: 'get',
    path: '/customers/{name}',
    tag: 'customers',
    access: 'customer',
    summary: 'A customer',
    params: ByName,
    response: Customer_,
    handler: async ({ svc, scope, params }) => customerView(await svc.getCustomer(params.name, scope)),
  }),
  route({
    method: 'post',
    path: '/customers',
    tag: 'customers',
    access: 'operator',
    summary: 'Add a customer',
    status: 201,
    body: z
      .object({
        name: z.string().min(1).max(63),
        contact: z.string().min(3).max(320).optional().describe('where notices about the account go'),
      })
      .strict(),
    response: Customer_,
    handler: async ({ svc, body }) => customerView(await svc.addCustomer(body.name, body.contact)),
  }),
  route({
    method: 'patch',
    path: '/customers/{name}',
    tag: 'customers',
    access: 'customer',
    summary: 'Change the contact address of a customer ("" removes it)',
    params: ByName,
    body: z.object({ contact: z.string().max(320) }).strict(),
    response: Customer_,
    handler: async ({ svc, scope, params, body }) => customerView(await svc.setContact(params.name, body.contact, scope)),
  }),
];

export const domainRoutes: AnyRoute[] = [
  route({
    method: 'get',
    path: '/domains',
    tag: 'domains',
    access: 'customer',
    summary: 'List hosted domains',
    query: Limit.extend({ customer: Name.optional() }),
    response: z.object({ domains: z.array(Domain_) }),
    handler: async ({ svc, scope, query }) => ({
      domains: (await svc.listDomains(query.customer, scope)).slice(0, query.limit).map(domainView),
    }),
  }),
  route({
    method: 'get',
    path: '/domains/{domain}',
    tag: 'domains',
    access: 'customer',
    summary: 'A hosted domain',
    params: ByDomain,
    response: Domain_,
    handler: async ({ svc, scope, params }) => domainView(await svc.getDomain(params.domain, scope)),
  }),
  route({
    method: 'post',
    path: '/domains',
    tag: 'domains',
    access: 'operator',
    summary: 'Add a hosted domain to a customer (its DKIM keys are made with it)',
    status: 201,
    body: z.object({ name: z.string().min(1).max(253), customer: Name }).strict(),
    response: Domain_,
    handler: async ({ svc, body }) => domainView(await svc.addDomain(body.name, body.customer)),
  }),
  route({
    method: 'get',
    path: '/domains/{domain}/dns',
    tag: 'domains',
    access: 'customer',
    summary: 'Every DNS record the domain needs (postern domain dns)',
    params: ByDomain,
    response: z.object({ records: z.array(DnsRecord_) }),
    handler: async ({ svc, scope, params }) => ({ records: await svc.domainDns(params.domain, scope) }),
  }),
  route({
    method: 'get',
    path: '/domains/{domain}/dkim',
    tag: 'dkim',
    access: 'customer',
    summary: 'The DKIM keys of a domain with their DNS records',
    params: ByDomain,
    response: z.object({ keys: z.array(DkimRecord) }),
    handler: async ({ svc, scope, params }) => ({ keys: (await svc.showDkim(params.domain, scope)).map(dkimView) }),
  }),
  route({
    method: 'post',
    path: '/domains/{domain}/dkim/rotate',
    tag: 'dkim',
    access: 'operator',
    summary: 'Make new keys (pending until their records are published)',
    params: ByDomain,
    body: z.object({ algorithm: z.enum(['rsa', 'ed25519']).optional() }).strict(),
    response: z.object({ keys: z.array(DkimRecord) }),
    handler: async ({ svc, params, body }) => ({ keys: (await svc.rotateDkim(params.domain, body.algorithm)).map(dkimView) }),
  }),
  route({
    method: 'post',
    path: '/domains/{domain}/dkim/activate',
    tag: 'dkim',
    access: 'operator',
    summary: 'Activate the pending keys (force: without the DNS check)',
    params: ByDomain,
    body: z.object({ force: z.boolean().optional() }).strict(),
    response: z.object({ activated: z.array(DkimRecord), retiring: z.array(DkimRecord) }),
    handler: async ({ svc, params, body }) => {
      const r = await svc.activateDkim(params.domain, body.force ?? false);
      return { activated: r.activated.map(dkimView), retiring: r.retiring.map(dkimView) };
    },
  }),
];

export const mailboxRoutes: AnyRoute[] = [
  route({
    method: 'get',
    path: '/mailboxes',
    tag: 'mailboxes',
    access: 'customer',
    summary: 'List mailboxes',
    query: Limit.extend({ customer: Name.optional(), domain: Name.optional() }),
    response: z.object({ mailboxes: z.array(Mailbox_) }),
    handler: async ({ svc, scope, query }) => ({
      mailboxes: (await svc.listMailboxes({ customer: query.customer, domain: query.domain }, scope))
        .slice(0, query.limit)
        .map(mailboxView),
    }),
  }),
  route({
    method: 'get',
    path: '/mailboxes/{address}',
    tag: 'mailboxes',
    access: 'customer',
    summary: 'A mailbox with its login state',
    params: ByAddress,
    response: MailboxDetail,
    handler: async ({ svc, scope, params }) => {
      const r = await svc.getMailbox(params.address, scope);
      return { ...mailboxView(r.mailbox), login: { failures: r.login.failures, lockedUntil: isoOrNull(r.login.lockedUntil) } };
    },
  }),
  route({
    method: 'post',
    path: '/mailboxes',
    tag: 'mailboxes',
    access: 'customer',
    summary: 'Add a mailbox at a hosted domain (a generated password is returned once)',
    status: 201,
    body: z.object({ address: z.string().min(3).max(320), password: Password.optional() }).strict(),
    response: MailboxWithPassword,
    handler: async ({ svc, scope, body }) => {
      const r = await svc.addMailbox(body.address, body.password, scope);
      return { mailbox: mailboxView(r.mailbox), password: r.generated };
    },
  }),
  route({
    method: 'put',
    path: '/mailboxes/{address}/password',
    tag: 'mailboxes',
    access: 'customer',
    summary: 'Change the password (omitted: one is generated and returned once)',
    params: ByAddress,
    body: z.object({ password: Password.optional() }).strict(),
    response: MailboxWithPassword,
    handler: async ({ svc, scope, params, body }) => {
      const r = await svc.setPassword(params.address, body.password, scope);
      return { mailbox: mailboxView(r.mailbox), password: r.generated };
    },
  }),
  route({
    method: 'post',
    path: '/mailboxes/{address}/suspend',
    tag: 'mailboxes',
    access: 'customer',
    summary: 'Suspend a mailbox (its logins are refused)',
    params: ByAddress,
    response: Mailbox_,
    handler: async ({ svc, scope, params }) => mailboxView(await svc.suspend(params.address, scope)),
  }),
  route({
    method: 'post',
    path: '/mailboxes/{address}/resume',
    tag: 'mailboxes',
    access: 'customer',
    summary: 'Resume a suspended mailbox',
    params: ByAddress,
    response: Mailbox_,
    handler: async ({ svc, scope, params }) => mailboxView(await svc.resume(params.address, scope)),
  }),
  route({
    method: 'post',
    path: '/mailboxes/{address}/unlock',
    tag: 'mailboxes',
    access: 'customer',
    summary: 'Lift the lock after failed logins',
    params: ByAddress,
    response: z.object({ mailbox: Mailbox_, wasLocked: z.boolean() }),
    handler: async ({ svc, scope, params }) => {
      const r = await svc.unlock(params.address, scope);
      return { mailbox: mailboxView(r.mailbox), wasLocked: r.wasLocked };
    },
  }),
  route({
    method: 'delete',
    path: '/mailboxes/{address}',
    tag: 'mailboxes',
    access: 'customer',
    summary: 'Delete a mailbox',
    params: ByAddress,
    response: Ok,
    handler: async ({ svc, scope, params }) => (await svc.removeMailbox(params.address, scope), { ok: true as const }),
  }),
  route({
    method: 'get',
    path: '/mailboxes/{address}/grants',
    tag: 'grants',
    access: 'customer',
    summary: 'What else a mailbox may send as',
    params: ByAddress,
    response: z.object({ grants: z.array(Grant) }),
    handler: async ({ svc, scope, params }) => ({ grants: (await svc.grants(params.address, scope)).grants.map(grantView) }),
  }),
  route({
    method: 'post',
    path: '/mailboxes/{address}/grants',
    tag: 'grants',
    access: 'customer',
    summary: 'Let a mailbox send as an address or a domain of its customer ("<>": the null sender)',
    status: 201,
    params: ByAddress,
    body: GrantInput,
    response: z.object({ grant: Grant, added: z.boolean().describe('false: it already had it') }),
    handler: async ({ svc, scope, params, body }) => {
      const r = await svc.grant(params.address, body, scope);
      return { grant: grantView(r.grant), added: r.added };
    },
  }),
  route({
    method: 'delete',
    path: '/mailboxes/{address}/grants',
    tag: 'grants',
    access: 'customer',
    summary: 'Take a grant back (sendAs or domain in the query)',
    params: ByAddress,
    query: z.object({ sendAs: z.string().min(1).max(320).optional(), domain: z.string().min(1).max(253).optional() }),
    response: z.object({ grant: Grant }),
    handler: async ({ svc, scope, params, query }) => {
      if ((query.sendAs === undefined) === (query.domain === undefined)) throw new AdminError('give either sendAs or domain');
      return { grant: grantView((await svc.revoke(params.address, query, scope)).grant) };
    },
  }),
];
