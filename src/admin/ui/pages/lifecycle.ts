/**
 * The life of an account in the console (operators only): a customer's account section
 * (suspend, resume, rename) and the removal of a customer or a domain and the move of a domain.
 * A removal or move first shows its plan (the CLI's dry run) and is done only from that page,
 * with a ticked confirmation.
 */
import type { Context } from 'hono';
import type { ConsoleApp, ConsoleDeps, ConsoleEnv } from '../context.ts';
import { only } from '../guard.ts';
import { act, field } from '../actions.ts';
import { BASE, csrfField, flash, html, page, postButton, state, time, type Html } from '../html.ts';
import { AdminError } from '../../service.ts';
import type { Customer } from '../../../core/index.ts';
import type { LifecyclePlan } from '../../removal.ts';
import { planLines } from '../../plan-text.ts';
import { seg } from './manage-parts.ts';

const customerUrl = (name: string) => `${BASE}/customers/${seg(name)}`;
const domainUrl = (name: string) => `${BASE}/domains/${seg(name)}`;
/** The console waits at most this long for queued mail to drain (the CLI and the API can wait longer). */
const CONSOLE_WAIT_S = 30;

/** The account section of a customer's page: its status, suspend or resume, rename, and the way to removal. */
export function accountSection(c: Context<ConsoleEnv>, cust: Customer): Html {
  const url = customerUrl(cust.name);
  const csrf = csrfField(c.get('session'));
  const toggle =
    cust.status === 'active'
      ? html`${postButton(c, `${url}/suspend`, 'Suspend the account', { danger: true, describedBy: 'suspend-account-help' })} <span class="muted" id="suspend-account-help">Every mailbox, site and token of ${cust.name} is refused at once; its queued mail is held until it is resumed.</span>`
      : postButton(c, `${url}/resume`, cust.status === 'removing' ? 'Resume (call the removal off)' : 'Resume the account');
  return html`<h2>Account</h2>
<dl class="facts"><dt>Status</dt><dd>${state(cust.status)}${cust.suspendedAt !== null ? html` since ${time(cust.suspendedAt)}` : ''}</dd></dl>
<p>${toggle}</p>
<form method="post" action="${url}/rename" class="filters">${csrf}
<div><label for="rename-to">Rename to</label><input id="rename-to" name="to" required maxlength="63" pattern="[A-Za-z0-9][A-Za-z0-9._\\-]{0,62}"></div>
<div><button type="submit">Rename</button></div></form>
<p><a href="${url}/remove">Remove this customer…</a> <span class="muted">(shows everything affected first)</span></p>`;
}

/** The plan as a list, and the form that carries it out. */
function planPage(
  c: Context<ConsoleEnv>,
  o: { title: string; plan: LifecyclePlan; action: string; back: string; button: string; settle: boolean; extra?: Html },
): Promise<Response> {
  const [head, ...lines] = planLines(o.plan, { done: false, waitS: CONSOLE_WAIT_S });
  const csrf = csrfField(c.get('session'));
  return page(c, {
    title: o.title,
    body: html`<p>${head}</p>
<ul class="plan">${lines.map((l) => html`<li>${l.trim()}</li>`)}</ul>
<form method="post" action="${o.action}">${csrf}
${
  o.settle
    ? html`<fieldset><legend>Its queued mail</legend>
<label for="mode-drain"><input id="mode-drain" type="radio" name="mode" value="drain" checked> deliver it first (waiting at most ${CONSOLE_WAIT_S} s)</label>
<label for="mode-bounce"><input id="mode-bounce" type="radio" name="mode" value="bounce"> send it back to the senders</label></fieldset>`
    : ''
}
${o.extra ?? ''}
<p><label for="confirm"><input id="confirm" type="checkbox" name="confirm" value="1" required> I have read the list above: do it</label></p>
<p><button type="submit" class="danger">${o.button}</button> <a href="${o.back}">No, go back</a></p></form>`,
  });
}

const confirmed = (c: Context<ConsoleEnv>) => {
  if (field(c, 'confirm') !== '1') throw new AdminError('tick the confirmation: nothing was changed');
};
const modeOf = (c: Context<ConsoleEnv>) => (field(c, 'mode') === 'bounce' ? ('bounce' as const) : ('drain' as const));

export function mountLifecycle(app: ConsoleApp, deps: ConsoleDeps): void {
  app.post('/customers/:name/suspend', only('operator'), (c) =>
    act(c, customerUrl(c.req.param('name')), async () => {
      const r = await c.get('svc').suspendCustomer(c.req.param('name'));
      return `${r.customer.name} is suspended: its mailboxes, sites and tokens are refused; ${r.held} queued message${r.held === 1 ? '' : 's'} held.`;
    }),
  );
  app.post('/customers/:name/resume', only('operator'), (c) =>
    act(c, customerUrl(c.req.param('name')), async () => {
      const r = await c.get('svc').resumeCustomer(c.req.param('name'));
      return `${r.customer.name} is active again${r.wasRemoving ? ' (its removal is called off)' : ''}; ${r.released} held message${r.released === 1 ? '' : 's'} released.`;
    }),
  );
  app.post('/customers/:name/rename', only('operator'), async (c) => {
    let to: string | null = null;
    const r = await act(c, customerUrl(c.req.param('name')), async () => {
      const done = await c.get('svc').renameCustomer(c.req.param('name'), field(c, 'to'));
      to = done.customer.name;
      return `${done.before} is now called ${done.customer.name}.`;
    });
    return to ? c.redirect(customerUrl(to), 303) : r;
  });

  app.get('/customers/:name/remove', only('operator'), async (c) => {
    const plan = await c.get('svc').planCustomerRemoval(c.req.param('name')!);
    return planPage(c, {
      title: `Remove customer ${plan.customer}`,
      plan,
      action: `${customerUrl(plan.customer)}/remove`,
      back: customerUrl(plan.customer),
      button: 'Remove the customer',
      settle: true,
    });
  });
  app.post('/customers/:name/remove', only('operator'), async (c) => {
    const name = c.req.param('name');
    let done = false;
    const r = await act(c, `${customerUrl(name)}/remove`, async () => {
      confirmed(c);
      const out = await c.get('svc').removeCustomer(name, { mode: modeOf(c), waitMs: CONSOLE_WAIT_S * 1000, removeBody: deps.removeBody });
      done = true;
      const keys = out.plan.dkim.map((k) => k.record);
      return `Customer ${name} is removed.${keys.length ? ` Its DKIM private keys are destroyed; these records can be removed from DNS: ${keys.join(', ')}.` : ''}`;
    });
    return done ? c.redirect(`${BASE}/customers`, 303) : r;
  });

  app.get('/domains/:name/remove', only('operator'), async (c) => {
    const plan = await c.get('svc').planDomainRemoval(c.req.param('name')!);
    return planPage(c, {
      title: `Remove domain ${plan.target}`,
      plan,
      action: `${domainUrl(plan.target)}/remove`,
      back: domainUrl(plan.target),
      button: 'Remove the domain',
      settle: true,
    });
  });
  app.post('/domains/:name/remove', only('operator'), async (c) => {
    const name = c.req.param('name');
    let customer: string | null = null;
    const r = await act(c, `${domainUrl(name)}/remove`, async () => {
      confirmed(c);
      const out = await c.get('svc').removeDomain(name, { mode: modeOf(c), waitMs: CONSOLE_WAIT_S * 1000, removeBody: deps.removeBody });
      customer = out.plan.customer;
      const keys = out.plan.dkim.map((k) => k.record);
      return `Domain ${out.plan.target} is removed.${keys.length ? ` Its DKIM private keys are destroyed; these records can be removed from DNS: ${keys.join(', ')}.` : ''}`;
    });
    return customer ? c.redirect(customerUrl(customer), 303) : r;
  });

  app.get('/domains/:name/move', only('operator'), async (c) => {
    const svc = c.get('svc');
    const domain = await svc.getDomain(c.req.param('name')!);
    const to = (c.req.query('customer') ?? '').trim();
    if (!to) {
      const others = (await svc.listCustomers()).filter((x) => x.name !== domain.customerName);
      return page(c, {
        title: `Move domain ${domain.name}`,
        body: html`<form method="get" action="${domainUrl(domain.name)}/move" class="filters">
<div><label for="move-to">To customer</label><select id="move-to" name="customer">${others.map((x) => html`<option value="${x.name}">${x.name}</option>`)}</select></div>
<div><button type="submit">Show what would move</button></div></form>`,
      });
    }
    let plan: LifecyclePlan;
    try {
      plan = await svc.planDomainMove(domain.name, to);
    } catch (err) {
      if (!(err instanceof AdminError)) throw err;
      flash(c, err.message, 'error');
      return c.redirect(`${domainUrl(domain.name)}/move`, 303);
    }
    const crossing = plan.grants.some((g) => g.fate === 'crossing');
    return planPage(c, {
      title: `Move domain ${plan.target} to ${to}`,
      plan,
      action: `${domainUrl(plan.target)}/move`,
      back: domainUrl(plan.target),
      button: 'Move the domain',
      settle: false,
      extra: html`<input type="hidden" name="customer" value="${to}">${crossing ? html`<p><label for="drop-crossing"><input id="drop-crossing" type="checkbox" name="drop_crossing" value="1"> Drop the grants that would cross customers (else the move is refused)</label></p>` : ''}`,
    });
  });
  app.post('/domains/:name/move', only('operator'), (c) => {
    const name = c.req.param('name');
    const to = field(c, 'customer');
    return act(c, domainUrl(name), async () => {
      confirmed(c);
      const r = await c.get('svc').moveDomain(name, to, { dropCrossing: field(c, 'drop_crossing') === '1' });
      return `Domain ${r.domain.name} now belongs to ${r.domain.customerName}${r.dropped.length ? `; ${r.dropped.length} grant(s) dropped` : ''}.`;
    });
  });
}
