/**
 * Customers (operators only): the list with a search, adding one, and a customer's page: its
 * account (status, suspend, resume, rename, remove: lifecycle.ts), contact, domains (add one), mailboxes (add one), sites, limits (set and remove) and webhook
 * endpoints. Every read and change goes through the admin service.
 */
import type { Context } from 'hono';
import type { ConsoleApp, ConsoleDeps, ConsoleEnv } from '../context.ts';
import { only } from '../guard.ts';
import { act, field } from '../actions.ts';
import { confirmPage, confirmed } from '../confirm.ts';
import { BASE, csrfField, href, html, page, state, table, time } from '../html.ts';
import { AdminError, type AdminService } from '../../service.ts';
import type { Customer } from '../../../core/index.ts';
import {
  customerLink,
  domainLink,
  limitForm,
  limitsTable,
  mailboxLink,
  parseTarget,
  seg,
  type LimitRow,
  type LimitTarget,
} from './manage-parts.ts';
import { mailboxAddForm } from './mailboxes.ts';
import { accountSection } from './lifecycle.ts';

const customerUrl = (name: string) => `${BASE}/customers/${seg(name)}`;
const scopeOf = (cust: Customer) => ({ customerId: cust.id, customerName: cust.name });

async function listPage(c: Context<ConsoleEnv>) {
  const svc = c.get('svc');
  const q = (c.req.query('q') ?? '').trim().toLowerCase();
  const [customers, domains, mailboxes] = await Promise.all([svc.listCustomers(), svc.listDomains(), svc.listMailboxes({})]);
  const count = (list: { customerName: string }[]) => {
    const m = new Map<string, number>();
    for (const x of list) m.set(x.customerName, (m.get(x.customerName) ?? 0) + 1);
    return m;
  };
  const nd = count(domains);
  const nm = count(mailboxes);
  const shown = q
    ? customers.filter(
        (x) =>
          x.name.toLowerCase().includes(q) ||
          (x.contact ?? '').includes(q) ||
          domains.some((d) => d.customerName === x.name && d.name.includes(q)),
      )
    : customers;
  return page(c, {
    title: 'Customers',
    body: html`<form method="get" action="${BASE}/customers" class="filters" role="search">
<div><label for="q">Search by name, contact or domain</label><input id="q" name="q" type="search" value="${q}"></div>
<div><button type="submit">Search</button></div></form>
${table(
  q ? `Customers matching "${q}" (${shown.length})` : `Customers (${shown.length})`,
  ['Name', 'Status', 'Contact', 'Domains', 'Mailboxes', 'Added'],
  shown.map((x) => [
    customerLink(x.name),
    state(x.status),
    x.contact ?? html`<span class="muted">none</span>`,
    nd.get(x.name) ?? 0,
    nm.get(x.name) ?? 0,
    time(x.createdAt),
  ]),
  q ? 'No customer matches.' : 'No customers yet.',
)}
<h2>Add a customer</h2>
<form method="post" action="${BASE}/customers">${csrfField(c.get('session'))}
<label for="new-name">Name</label><input id="new-name" name="name" required maxlength="63" pattern="[A-Za-z0-9][A-Za-z0-9._\\-]{0,62}" aria-describedby="new-name-help">
<p class="muted" id="new-name-help">Letters, digits, dot, dash and underscore; the hosting account's name.</p>
<label for="new-contact">Contact address (optional)</label><input id="new-contact" name="contact" type="email">
<p><button type="submit">Add the customer</button></p></form>`,
  });
}

/** What a limit may be set on for this customer: itself, its domains, mailboxes and sites. */
function targetsOf(
  cust: Customer,
  domains: { name: string }[],
  mailboxes: { address: string }[],
  sites: { site: { name: string } }[],
): LimitTarget[] {
  return [
    { level: 'customer', target: cust.name, label: `the customer ${cust.name} (all its mail)` },
    ...domains.map((d) => ({ level: 'domain', target: d.name, label: `domain ${d.name}` })),
    ...mailboxes.map((m) => ({ level: 'mailbox', target: m.address, label: `mailbox ${m.address}` })),
    ...sites.map((s) => ({ level: 'site', target: s.site.name, label: `site ${s.site.name}` })),
  ];
}

/** The rules that touch a customer: the customer level (defaults counted for it) and its own domains, mailboxes and sites. */
async function limitsOf(svc: AdminService, cust: Customer): Promise<LimitRow[]> {
  const [own, all] = await Promise.all([svc.showLimits('customer', cust.name), svc.showLimits(undefined, undefined, scopeOf(cust))]);
  return [...own, ...all.filter((r) => r.level !== 'customer')];
}

async function customerPage(c: Context<ConsoleEnv>) {
  const svc = c.get('svc');
  const cust = await svc.getCustomer(c.req.param('name')!);
  const [domains, mailboxes, sites, hooks, limits] = await Promise.all([
    svc.listDomains(cust.name),
    svc.listMailboxes({ customer: cust.name }),
    svc.listSites(cust.name),
    svc.listWebhooks(cust.name),
    limitsOf(svc, cust),
  ]);
  const url = customerUrl(cust.name);
  const csrf = csrfField(c.get('session'));
  return page(c, {
    title: `Customer ${cust.name}`,
    body: html`<dl class="facts"><dt>Name</dt><dd>${cust.name}</dd><dt>Contact</dt><dd>${cust.contact ?? html`<span class="muted">none</span>`}</dd><dt>Added</dt><dd>${time(cust.createdAt)}</dd></dl>
${accountSection(c, cust)}
<p><a href="${href('/messages', { customer: cust.name })}">Its sent mail</a> · <a href="${href('/suppressions', { customer: cust.name })}">Its suppressions</a> · <a href="${href('/webhooks', { customer: cust.name })}">Its webhooks</a></p>
<h2>Contact</h2>
<form method="post" action="${url}/contact">${csrf}
<label for="contact">Where notices about this account go (empty: none)</label><input id="contact" name="contact" type="email" value="${cust.contact ?? ''}">
<p><button type="submit">Change the contact</button></p></form>
<h2>Domains</h2>
${table(
  `Domains of ${cust.name}`,
  ['Domain', 'Added'],
  domains.map((d) => [domainLink(d.name), time(d.createdAt)]),
  'No domains yet.',
)}
<form method="post" action="${url}/domains" class="filters">${csrf}
<div><label for="new-domain">Add a domain</label><input id="new-domain" name="domain" required placeholder="example.com"></div>
<div><button type="submit">Add the domain</button></div></form>
<h2>Mailboxes</h2>
${table(
  `Mailboxes of ${cust.name}`,
  ['Address', 'State', 'Added'],
  mailboxes.map((m) => [
    mailboxLink(m.address),
    html`${state(m.status)}${m.heldSince !== null ? html` ${state('held')}` : ''}`,
    time(m.createdAt),
  ]),
  'No mailboxes yet.',
)}
${
  domains.length
    ? mailboxAddForm(
        c,
        domains.map((d) => d.name),
        url,
      )
    : html`<p class="muted">Add a domain first: a mailbox is an address at one of the customer's domains.</p>`
}
<h2>Sites</h2>
${table(
  `Sites of ${cust.name}`,
  ['Site', 'Unix user', 'May send as', 'State'],
  sites.map(({ site, grants }) => [
    site.name,
    site.unixUser ?? html`<span class="muted">none (API key)</span>`,
    grants.map((g) => (g.kind === 'domain' ? `any address @${g.value}` : g.value)).join(', '),
    site.heldSince !== null ? html`${state('held')} ${site.holdReason ?? ''}` : state('active'),
  ]),
  'No sites.',
)}
<h2>Limits</h2>
${limitsTable(c, `Sending limits that apply to ${cust.name}`, limits, `${url}/limits/remove`)}
<h3>Set a limit</h3>
${limitForm(c, `${url}/limits`, targetsOf(cust, domains, mailboxes, sites))}
<h2>Webhooks</h2>
${table(
  `Webhook endpoints of ${cust.name}`,
  ['Endpoint', 'URL', 'Events', 'State'],
  hooks.map((e) => [
    html`<a href="${BASE}/webhooks/${seg(e.id)}">${e.id}</a>`,
    e.url,
    e.events.join(', '),
    state(e.enabled ? 'active' : 'disabled'),
  ]),
  'No webhook endpoints.',
)}`,
  });
}

export function mountCustomers(app: ConsoleApp, _deps: ConsoleDeps): void {
  app.get('/customers', only('operator'), listPage);
  app.post('/customers', only('operator'), async (c) => {
    const name = field(c, 'name');
    let added = false;
    const r = await act(c, `${BASE}/customers`, async () => {
      const cust = await c.get('svc').addCustomer(name, field(c, 'contact') || undefined);
      added = true;
      return `Customer ${cust.name} added.`;
    });
    return added ? c.redirect(customerUrl(name), 303) : r;
  });
  app.get('/customers/:name', only('operator'), customerPage);
  app.post('/customers/:name/contact', only('operator'), (c) => {
    const name = c.req.param('name');
    return act(c, customerUrl(name), async () => {
      const cust = await c.get('svc').setContact(name, field(c, 'contact'));
      return cust.contact ? `Notices for ${cust.name} now go to ${cust.contact}.` : `${cust.name} has no contact now.`;
    });
  });
  app.post('/customers/:name/domains', only('operator'), (c) => {
    const name = c.req.param('name');
    return act(c, customerUrl(name), async () => {
      const d = await c.get('svc').addDomain(field(c, 'domain'), name);
      return `Domain ${d.name} added to ${name}; publish its DNS records (see the domain's page).`;
    });
  });
  app.post('/customers/:name/limits', only('operator'), (c) => {
    const name = c.req.param('name');
    return act(c, customerUrl(name), async () => {
      const svc = c.get('svc');
      const cust = await svc.getCustomer(name);
      const at = parseTarget(field(c, 'target'));
      if (!at) throw new AdminError('choose what the limit applies to');
      await svc.showLimits(at.level, at.target, scopeOf(cust)); // the target must be this customer's (else: not found)
      const metric = field(c, 'metric');
      if (metric !== 'messages' && metric !== 'recipients') throw new AdminError('choose what the limit counts: messages or recipients');
      if (!/^\d+$/.test(field(c, 'max'))) throw new AdminError('the maximum must be a whole number of 0 or more');
      const rules = await svc.setLimit(at.level, at.target, {
        window: field(c, 'window'),
        action: field(c, 'action'),
        [metric]: field(c, 'max'),
      });
      return rules
        .map((r) => `Limit set: ${r.level} ${r.target}, at most ${r.max} ${r.metric} per ${r.window}, then ${r.action}.`)
        .join(' ');
    });
  });
  app.post('/customers/:name/limits/remove', only('operator'), async (c) => {
    const name = c.req.param('name');
    if (!confirmed(c)) {
      const cust = await c.get('svc').getCustomer(name);
      const [level, target, window, metric] = ['level', 'target', 'window', 'metric'].map((k) => field(c, k)) as [
        string,
        string,
        string,
        string,
      ];
      const rules = (await c.get('svc').showLimits(level, target, scopeOf(cust))).filter(
        (r) => r.target !== '*' && r.level === level && (!window || r.window === window) && (!metric || r.metric === metric),
      );
      return confirmPage(c, {
        title: `Remove ${rules.length === 1 ? 'a limit' : 'limits'} of ${target}?`,
        what: html`${rules.length === 1 ? '1 limit' : `${rules.length} limits`} of ${level} ${target} (${rules.map((r) => `at most ${r.max} ${r.metric} per ${r.window}`).join('; ') || 'none found'}) will be removed; the limits above it (customer, server defaults) still apply.`,
        action: `${customerUrl(name)}/limits/remove`,
        fields: { level, target, window, metric },
        button: `Remove ${rules.length === 1 ? '1 limit' : `${rules.length} limits`}`,
        back: customerUrl(name),
      });
    }
    return act(c, customerUrl(name), async () => {
      const svc = c.get('svc');
      const cust = await svc.getCustomer(name);
      const level = field(c, 'level');
      const target = field(c, 'target');
      await svc.showLimits(level, target, scopeOf(cust));
      const n = await svc.clearLimit(level, target, { window: field(c, 'window'), metric: field(c, 'metric') });
      return `Removed ${n} limit${n === 1 ? '' : 's'} of ${level} ${target}.`;
    });
  });
}
