/**
 * The suppression list (operators: every customer's, with a customer filter; customers: their
 * own; not for mailbox users): recipients a customer's mail is refused for, with why, from
 * where (a hard bounce or an operator) and until when; add one, lift one.
 */
import type { Context } from 'hono';
import type { ConsoleApp, ConsoleDeps, ConsoleEnv } from '../context.ts';
import { only, roleOfContext } from '../guard.ts';
import { act, field } from '../actions.ts';
import { confirmPage, confirmed } from '../confirm.ts';
import { BASE, csrfField, href, html, page, postButton, table, time } from '../html.ts';
import { AdminError, type AdminService, type TenantScope } from '../../service.ts';
import { customerLink } from './manage-parts.ts';

const MAX_SHOWN = 500;

/** The suppression scope: none for an operator; a customer's own (naming another customer: 404 like a missing one). */
async function scoped(svc: AdminService, scope: TenantScope | undefined, named: string): Promise<{ customer: string } | undefined> {
  if (!scope) return undefined;
  if (named) await svc.getCustomer(named, scope);
  return { customer: scope.customerName };
}

async function listPage(c: Context<ConsoleEnv>) {
  const svc = c.get('svc');
  const scope = c.get('scope');
  const operator = roleOfContext(c) === 'operator';
  const customer = (c.req.query('customer') ?? '').trim();
  const address = (c.req.query('address') ?? '').trim();
  const sc = await scoped(svc, scope, customer);
  let list: Awaited<ReturnType<AdminService['listSuppressions']>> = [];
  let problem: string | null = null;
  try {
    list = await svc.listSuppressions(
      { customer: sc ? undefined : customer || undefined, address: address || undefined, limit: MAX_SHOWN },
      sc,
    );
  } catch (err) {
    if (!(err instanceof AdminError) || err.kind === 'not-found') throw err;
    problem = err.message;
  }
  const customers = operator ? await svc.listCustomers() : [];
  const back = href('/suppressions', { customer, address });
  const csrf = csrfField(c.get('session'));
  return page(c, {
    title: 'Suppressions',
    body: html`<p>Recipients ${operator ? "a customer's" : 'your'} mail is refused for (550 5.1.1), after a hard bounce or by hand, until the date shown or until lifted.</p>
<form method="get" action="${BASE}/suppressions" class="filters" role="search">
${operator ? html`<div><label for="f-customer">Customer</label><select id="f-customer" name="customer"><option value="">every customer</option>${customers.map((x) => html`<option value="${x.name}"${x.name === customer ? html` selected` : ''}>${x.name}</option>`)}</select></div>` : ''}
<div><label for="f-address">Address</label><input id="f-address" name="address" type="email" value="${address}"></div>
<div><button type="submit">Show</button></div></form>
${problem ? html`<p class="flash error" role="alert">${problem}</p>` : ''}
${table(
  `Suppressed recipients (${list.length}${list.length === MAX_SHOWN ? '+, newest first' : ''})`,
  ['Address', ...(operator ? ['Customer'] : []), 'Reason', 'Source', 'Last suppressed', 'Until', 'Lift'],
  list.map((s) => [
    s.address,
    ...(operator ? [customerLink(s.customerName)] : []),
    s.reason,
    s.source === 'bounce' ? 'hard bounce' : 'operator',
    time(s.updatedAt),
    time(s.until),
    postButton(c, `${BASE}/suppressions/remove`, 'Remove…', {
      fields: { customer: s.customerName, address: s.address, back },
      what: s.address,
    }),
  ]),
  'No recipient is suppressed.',
)}
<h2>Suppress a recipient</h2>
<form method="post" action="${BASE}/suppressions">${csrf}<input type="hidden" name="back" value="${back}">
${operator ? html`<label for="s-customer">Customer</label><select id="s-customer" name="customer" required>${customers.map((x) => html`<option value="${x.name}"${x.name === customer ? html` selected` : ''}>${x.name}</option>`)}</select>` : ''}
<label for="s-address">Address</label><input id="s-address" name="address" type="email" required>
<label for="s-days">For how many days (empty: the server's default)</label><input id="s-days" name="days" type="number" min="1" max="3650" step="1" inputmode="numeric">
<label for="s-reason">Reason (shown in the refusal)</label><input id="s-reason" name="reason" maxlength="500">
<p><button type="submit">Suppress</button></p></form>`,
  });
}

export function mountSuppressions(app: ConsoleApp, _deps: ConsoleDeps): void {
  const staff = only('operator', 'customer');
  app.get('/suppressions', staff, listPage);
  app.post('/suppressions', staff, async (c) => {
    const svc = c.get('svc');
    const named = field(c, 'customer');
    const sc = await scoped(svc, c.get('scope'), named);
    return act(c, field(c, 'back') || `${BASE}/suppressions`, async () => {
      const days = field(c, 'days');
      if (days && !/^\d+(\.\d+)?$/.test(days)) throw new AdminError('the days must be a number above 0');
      const s = await svc.addSuppression(
        field(c, 'address'),
        { customer: sc ? undefined : named || undefined, days: days ? Number(days) : undefined, reason: field(c, 'reason') || undefined },
        sc,
      );
      return `Mail of ${s.customerName} to ${s.address} is refused until ${new Date(s.until).toISOString().slice(0, 10)}.`;
    });
  });
  app.post('/suppressions/remove', staff, async (c) => {
    const svc = c.get('svc');
    const named = field(c, 'customer');
    const sc = await scoped(svc, c.get('scope'), named);
    const back = field(c, 'back') || `${BASE}/suppressions`;
    if (!confirmed(c)) {
      const address = field(c, 'address');
      return confirmPage(c, {
        title: `Remove ${address} from the suppression list?`,
        what: html`1 address, ${address}, leaves the suppression list${named ? ` of ${named}` : ''}: mail to it is accepted and tried again. If it still bounces it is suppressed again.`,
        action: `${BASE}/suppressions/remove`,
        fields: { customer: named, address, back },
        button: `Remove ${address}`,
        back,
      });
    }
    return act(c, back, async () => {
      const r = await svc.removeSuppression(field(c, 'address'), { customer: sc ? undefined : named || undefined }, sc);
      return `Mail of ${r.customer} to ${r.address} is accepted again.`;
    });
  });
}
