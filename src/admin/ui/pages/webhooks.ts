/**
 * Webhooks (operators: every customer's, with a customer filter; customers: their own; not for
 * mailbox users): the endpoints with their state, the delivery log (overall and per endpoint:
 * event, state, attempts, the receiver's status code, the error), adding an endpoint, and
 * enable / disable / test / new secret / remove. A secret is shown once, on the answer page.
 */
import type { Context } from 'hono';
import type { ConsoleApp, ConsoleDeps, ConsoleEnv } from '../context.ts';
import { only, roleOfContext } from '../guard.ts';
import { act, field } from '../actions.ts';
import { BASE, csrfField, href, html, page, postButton, state, table, time, type Html } from '../html.ts';
import { AdminError, type AdminService, type TenantScope } from '../../service.ts';
import { customerWebhooks } from '../../webhooks.ts';
import { EVENT_TYPES } from '../../../webhooks/index.ts';
import type { WebhookDelivery, WebhookEndpoint } from '../../../core/index.ts';
import { confirmPage, confirmed, customerLink, secretPage, seg } from './manage-parts.ts';

const LOG_SHOWN = 50;
const hookUrl = (id: string) => `${BASE}/webhooks/${seg(id)}`;

/** The webhook operations of the session: a customer's bound to it; an operator's on every customer. */
function hooksOf(svc: AdminService, scope: TenantScope | undefined) {
  if (scope) return customerWebhooks(svc, scope.customerName);
  return {
    get: (id: string) => svc.getWebhook(id),
    remove: (id: string) => svc.removeWebhook(id),
    rotateSecret: (id: string) => svc.rotateWebhookSecret(id),
    setEnabled: (id: string, on: boolean) => svc.setWebhookEnabled(id, on),
    test: (id: string) => svc.testWebhook(id),
    log: (filter: { endpoint?: string; limit?: number } = {}) => svc.webhookLog(filter),
  };
}

/** The customer a list or an addition is for: a customer's own (naming another: 404 like a missing one). */
async function customerOf(svc: AdminService, scope: TenantScope | undefined, named: string): Promise<string | undefined> {
  if (named) return (await svc.getCustomer(named, scope)).name;
  return scope?.customerName;
}

function endpointActions(c: Context<ConsoleEnv>, e: WebhookEndpoint): Html {
  const url = hookUrl(e.id);
  const what = `of ${e.url}`;
  return html`${e.enabled ? postButton(c, `${url}/disable`, 'Disable', { what }) : postButton(c, `${url}/enable`, 'Enable', { what })}
${e.enabled ? postButton(c, `${url}/test`, 'Send a test', { what: `to ${e.url}` }) : ''} ${postButton(c, `${url}/rotate`, 'New secret', { what: `for ${e.url}` })}`;
}

const endpointState = (e: WebhookEndpoint) => state(e.enabled ? 'active' : 'disabled');

function logTable(caption: string, log: WebhookDelivery[], withEndpoint: boolean): Html {
  return table(
    caption,
    ['Created', 'Event', ...(withEndpoint ? ['Endpoint'] : []), 'State', 'Attempts', 'Response code', 'Error', 'Last attempt'],
    log.map((d) => [
      time(d.createdAt),
      d.eventType,
      ...(withEndpoint ? [html`<a href="${hookUrl(d.endpointId)}">${d.endpointId}</a>`] : []),
      html`${state(d.state)}${d.state === 'pending' && d.attempts > 0 ? html` <span class="muted">next at</span> ${time(d.nextAttemptAt)}` : ''}`,
      d.attempts,
      d.lastStatus ?? html`<span class="muted">none</span>`,
      d.lastError ?? '',
      time(d.lastAttemptAt),
    ]),
    'No deliveries yet.',
  );
}

function addForm(c: Context<ConsoleEnv>, customers: string[] | null, selected: string): Html {
  return html`<h2>Add an endpoint</h2>
<form method="post" action="${BASE}/webhooks">${csrfField(c.get('session'))}
${customers ? html`<label for="w-customer">Customer</label><select id="w-customer" name="customer" required>${customers.map((n) => html`<option value="${n}"${n === selected ? html` selected` : ''}>${n}</option>`)}</select>` : ''}
<label for="w-url">URL (https://)</label><input id="w-url" name="url" type="url" required maxlength="2000">
<fieldset><legend>Events (none ticked: all)</legend>
${EVENT_TYPES.map((t) => html`<label for="w-ev-${t}"><input id="w-ev-${t}" type="checkbox" name="event-${t}" value="1"> ${t}</label>`)}</fieldset>
<p><button type="submit">Add the endpoint</button></p></form>`;
}

async function listPage(c: Context<ConsoleEnv>) {
  const svc = c.get('svc');
  const scope = c.get('scope');
  const operator = roleOfContext(c) === 'operator';
  const named = (c.req.query('customer') ?? '').trim();
  const customer = await customerOf(svc, scope, named);
  const [hooks, log, customers] = await Promise.all([
    svc.listWebhooks(customer),
    svc.webhookLog({ customer, limit: LOG_SHOWN }),
    operator ? svc.listCustomers() : Promise.resolve([]),
  ]);
  return page(c, {
    title: 'Webhooks',
    body: html`${
      operator
        ? html`<form method="get" action="${BASE}/webhooks" class="filters" role="search">
<div><label for="f-customer">Customer</label><select id="f-customer" name="customer"><option value="">every customer</option>${customers.map((x) => html`<option value="${x.name}"${x.name === named ? html` selected` : ''}>${x.name}</option>`)}</select></div>
<div><button type="submit">Show</button></div></form>`
        : ''
    }
<h2>Endpoints</h2>
${table(
  `Webhook endpoints (${hooks.length})`,
  ['Endpoint', ...(operator ? ['Customer'] : []), 'URL', 'Events', 'State', 'Actions'],
  hooks.map((e) => [
    html`<a href="${hookUrl(e.id)}">${e.id}</a>`,
    ...(operator ? [customerLink(e.customerName)] : []),
    e.url,
    e.events.join(', '),
    endpointState(e),
    endpointActions(c, e),
  ]),
  'No webhook endpoints.',
)}
<h2>Recent deliveries</h2>
${logTable(`The last ${LOG_SHOWN} deliveries${customer ? ` of ${customer}` : ''}, newest first`, log, true)}
${addForm(c, operator ? customers.map((x) => x.name) : null, named)}`,
  });
}

async function endpointPage(c: Context<ConsoleEnv>) {
  const hooks = hooksOf(c.get('svc'), c.get('scope'));
  const e = await hooks.get(c.req.param('id')!);
  const log = await hooks.log({ endpoint: e.id, limit: LOG_SHOWN });
  const operator = roleOfContext(c) === 'operator';
  return page(c, {
    title: `Webhook ${e.id}`,
    body: html`<dl class="facts"><dt>URL</dt><dd>${e.url}</dd>${operator ? html`<dt>Customer</dt><dd>${customerLink(e.customerName)}</dd>` : ''}
<dt>Events</dt><dd>${e.events.join(', ')}</dd><dt>State</dt><dd>${endpointState(e)}</dd><dt>Added</dt><dd>${time(e.createdAt)}</dd><dt>Last changed</dt><dd>${time(e.updatedAt)}</dd></dl>
<p>${endpointActions(c, e)}</p>
<h2>Deliveries</h2>
${logTable(`The last ${LOG_SHOWN} deliveries to ${e.id}, newest first`, log, false)}
<h2>Remove</h2>
<p><a href="${hookUrl(e.id)}/remove">Remove this endpoint…</a></p>
<p><a href="${href('/webhooks', operator ? { customer: e.customerName } : {})}">All webhooks</a></p>`,
  });
}

export function mountWebhooks(app: ConsoleApp, _deps: ConsoleDeps): void {
  const staff = only('operator', 'customer');
  app.get('/webhooks', staff, listPage);
  app.post('/webhooks', staff, async (c) => {
    const svc = c.get('svc');
    const scope = c.get('scope');
    const customer = await customerOf(svc, scope, field(c, 'customer'));
    const events = EVENT_TYPES.filter((t) => field(c, `event-${t}`) === '1');
    try {
      if (!customer) throw new AdminError('choose the customer the endpoint is for');
      const r = scope
        ? await customerWebhooks(svc, customer).add(field(c, 'url'), events)
        : await svc.addWebhook({ customer, url: field(c, 'url'), events });
      return secretPage(c, {
        title: 'Webhook endpoint added',
        intro: `Endpoint ${r.endpoint.id} added for ${r.endpoint.url}; its requests are signed with this secret.`,
        label: `Signing secret of ${r.endpoint.id}`,
        secret: r.secret,
        back: hookUrl(r.endpoint.id),
        backLabel: `Go to ${r.endpoint.id}`,
      });
    } catch (err) {
      if (!(err instanceof AdminError) || err.kind === 'not-found') throw err;
      return act(c, href('/webhooks', scope ? {} : { customer }), () => Promise.reject(err));
    }
  });
  app.get('/webhooks/:id', staff, endpointPage);
  const onEndpoint = (verb: string, run: (c: Context<ConsoleEnv>, id: string) => Promise<string>) =>
    app.post(`/webhooks/:id/${verb}`, staff, async (c) => {
      const id = c.req.param('id');
      await hooksOf(c.get('svc'), c.get('scope')).get(id); // another customer's: 404
      return act(c, hookUrl(id), () => run(c, id));
    });
  onEndpoint(
    'enable',
    async (c, id) =>
      `${(await hooksOf(c.get('svc'), c.get('scope')).setEnabled(id, true)).id} is enabled; its waiting deliveries go out again.`,
  );
  onEndpoint(
    'disable',
    async (c, id) =>
      `${(await hooksOf(c.get('svc'), c.get('scope')).setEnabled(id, false)).id} is disabled; new events are not queued for it.`,
  );
  onEndpoint(
    'test',
    async (c, id) =>
      `A test event (${(await hooksOf(c.get('svc'), c.get('scope')).test(id)).eventId}) is queued; it shows in the deliveries below.`,
  );
  app.post('/webhooks/:id/rotate', staff, async (c) => {
    const r = await hooksOf(c.get('svc'), c.get('scope')).rotateSecret(c.req.param('id'));
    return secretPage(c, {
      title: 'New webhook secret',
      intro: `Endpoint ${r.endpoint.id} has a new secret: requests are signed with it from the next attempt on.`,
      label: `Signing secret of ${r.endpoint.id}`,
      secret: r.secret,
      back: hookUrl(r.endpoint.id),
      backLabel: `Back to ${r.endpoint.id}`,
    });
  });
  const confirmRemoval = async (c: Context<ConsoleEnv>) => {
    const e = await hooksOf(c.get('svc'), c.get('scope')).get(c.req.param('id')!);
    return confirmPage(c, {
      title: `Remove ${e.id}?`,
      action: `${hookUrl(e.id)}/remove`,
      button: `Remove ${e.id}`,
      back: hookUrl(e.id),
      what: html`The endpoint ${e.id} (${e.url}) will be removed with its delivery log; deliveries still waiting are dropped. This cannot be undone.`,
    });
  };
  app.get('/webhooks/:id/remove', staff, confirmRemoval);
  app.post('/webhooks/:id/remove', staff, async (c) => {
    if (!confirmed(c)) return confirmRemoval(c);
    const hooks = hooksOf(c.get('svc'), c.get('scope'));
    const e = await hooks.get(c.req.param('id'));
    return act(c, href('/webhooks', roleOfContext(c) === 'operator' ? { customer: e.customerName } : {}), async () => {
      await hooks.remove(e.id);
      return `Endpoint ${e.id} removed.`;
    });
  });
}
