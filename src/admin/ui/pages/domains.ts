/**
 * A domain's page, for operators, its customer and its mailbox users (a mailbox user sees only
 * its own mailbox's domain): the DNS records it needs, their live status (a DNS check bounded
 * in time: a DNS server that does not answer makes the page say so, never hang), and its DKIM
 * keys with their records. Operators rotate and activate keys here.
 */
import type { Context } from 'hono';
import type { ConsoleApp, ConsoleDeps, ConsoleEnv } from '../context.ts';
import { notFound, only, roleOfContext } from '../guard.ts';
import { act, field } from '../actions.ts';
import { BASE, csrfField, html, page, state, table, time, type Html } from '../html.ts';
import { AdminError, type AdminService, type TenantScope } from '../../service.ts';
import { domainOf, normalizeDomain } from '../../../core/index.ts';
import type { CheckItem, CheckReport } from '../../../dkim/index.ts';
import { customerLink, seg } from './manage-parts.ts';

/** The longest the page waits for the live DNS check (each lookup also has dns.timeoutMs and dns.tries). */
export const CHECK_DEADLINE_MS = 3000;

type Live = { report: CheckReport } | { late: true } | { error: string };

/** The live check, or what stopped it: too slow, or refused (no DKIM configuration). */
export async function liveCheck(
  svc: AdminService,
  name: string,
  scope: TenantScope | undefined,
  deadlineMs = CHECK_DEADLINE_MS,
): Promise<Live> {
  return raceCheck(svc.checkDomain(name, scope), deadlineMs);
}

/** A running check (a domain's or a pool's) against the deadline. */
export async function raceCheck(check: Promise<CheckReport>, deadlineMs = CHECK_DEADLINE_MS): Promise<Live> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<Live>((resolve) => {
    timer = setTimeout(() => resolve({ late: true }), deadlineMs);
  });
  const run = check.then(
    (report): Live => ({ report }),
    (err: unknown): Live => {
      if (err instanceof AdminError) return { error: err.message };
      return { error: `the check failed: ${(err as Error).message}` };
    },
  );
  try {
    return await Promise.race([run, late]);
  } finally {
    clearTimeout(timer);
  }
}

const CHECK_WORD: Record<CheckItem['status'], [string, string]> = { ok: ['ok', 'ok'], warn: ['warning', 'warn'], fail: ['failing', 'bad'] };
const checkState = (s: CheckItem['status']): Html => html`<span class="state ${CHECK_WORD[s][1]}">${CHECK_WORD[s][0]}</span>`;

export function liveSection(live: Live): Html {
  if ('late' in live) {
    return html`<p class="flash error" role="status">The DNS servers did not answer within ${CHECK_DEADLINE_MS / 1000} seconds: the live status is unknown. The records above are still what to publish; reload the page to check again.</p>`;
  }
  if ('error' in live) return html`<p class="flash error" role="status">The live check could not run: ${live.error}</p>`;
  const r = live.report;
  return html`<p>${r.ok ? html`${state('ok')} Every check passes.` : html`<span class="state bad">needs attention</span> Some records are missing or wrong; see below.`}</p>
${table(
  `Live DNS status of ${r.domain}`,
  ['Check', 'Status', 'What was found', 'To publish'],
  r.items.map((i) => [
    html`<code class="name">${i.id}</code>`,
    checkState(i.status),
    html`${i.summary}${i.detail ? html`<pre>${i.detail}</pre>` : ''}`,
    i.publish ? html`<code>${i.publish.name}</code> ${i.publish.type}<br><code>${i.publish.value}</code>` : '',
  ]),
)}`;
}

async function domainPage(c: Context<ConsoleEnv>) {
  const svc = c.get('svc');
  const scope = c.get('scope');
  const input = c.req.param('name')!;
  const name = normalizeDomain(input);
  const session = c.get('session');
  // a mailbox user: its own mailbox's domain only (another domain of its customer is not its business)
  if (roleOfContext(c) === 'mailbox' && (!name || domainOf(session.subject) !== name)) return notFound(c);
  const domain = await svc.getDomain(input, scope);
  const [records, keys, live] = await Promise.all([
    svc.domainDns(domain.name, scope),
    svc.showDkim(domain.name, scope),
    liveCheck(svc, domain.name, scope),
  ]);
  const operator = roleOfContext(c) === 'operator';
  const pending = keys.filter((k) => k.state === 'pending');
  const url = `${BASE}/domains/${seg(domain.name)}`;
  const csrf = csrfField(session);
  return page(c, {
    title: `Domain ${domain.name}`,
    body: html`<dl class="facts"><dt>Domain</dt><dd>${domain.name}</dd>${operator ? html`<dt>Customer</dt><dd>${customerLink(domain.customerName)}</dd>` : ''}<dt>Added</dt><dd>${time(domain.createdAt)}</dd></dl>
<h2>DNS records to publish</h2>
${table(
  `Records ${domain.name} needs`,
  ['Name', 'Type', 'Value', 'Why'],
  records.map((r) => [
    html`<code class="name">${r.name}</code>`,
    r.type === 'NOTE' ? 'advice' : r.type,
    r.value === null ? 'none' : html`<code class="record">${r.value}</code>`,
    r.why,
  ]),
  'No records (DNS details are not configured here).',
)}
<h2>Live DNS status</h2>
${liveSection(live)}
<h2>DKIM keys</h2>
${table(
  `DKIM keys of ${domain.name}`,
  ['Selector', 'Algorithm', 'State', 'Since', 'Record'],
  keys.map((k) => [
    html`<code class="name">${k.selector}</code>`,
    k.algorithm,
    state(k.state),
    time(k.activatedAt ?? k.createdAt),
    html`<code class="name">${k.name}</code> TXT<br><code class="record">${k.value}</code>`,
  ]),
  'No DKIM keys: mail of this domain goes out unsigned.',
)}
${
  operator
    ? html`<h3>Change the keys</h3>
<form method="post" action="${url}/dkim/rotate" class="filters">${csrf}
<div><label for="rotate-algorithm">Algorithm</label><select id="rotate-algorithm" name="algorithm"><option value="">every algorithm in use</option><option value="rsa">rsa</option><option value="ed25519">ed25519</option></select></div>
<div><button type="submit">Make a new pending key</button></div></form>
${
  pending.length
    ? html`<form method="post" action="${url}/dkim/activate" class="filters">${csrf}
<div><label for="activate-force"><input id="activate-force" name="force" type="checkbox" value="1"> Even if DNS does not show ${pending.length === 1 ? 'its record' : 'their records'} yet</label></div>
<div><button type="submit">Activate the pending ${pending.length === 1 ? `key ${pending[0]!.selector}` : `keys ${pending.map((k) => k.selector).join(', ')}`}</button></div></form>
<p class="muted">A pending key becomes active once its record is published (the server also does this by itself); the key it replaces stays retiring while mail signed with it may be in transit.</p>`
    : html`<p class="muted">No key is pending, so there is nothing to activate. Make a new pending key to rotate: it is used once its record is published.</p>`
}
<h2>Owner</h2>
<p><a href="${url}/move">Move this domain to another customer…</a> · <a href="${url}/remove">Remove this domain…</a> <span class="muted">(each shows everything affected first)</span></p>`
    : ''
}`,
  });
}

export function mountDomains(app: ConsoleApp, _deps: ConsoleDeps): void {
  app.get('/domains/:name', domainPage);
  app.post('/domains/:name/dkim/rotate', only('operator'), (c) => {
    const name = c.req.param('name');
    return act(c, `${BASE}/domains/${seg(name)}`, async () => {
      const algorithm = field(c, 'algorithm');
      const keys = await c.get('svc').rotateDkim(name, algorithm || undefined);
      return `New pending key${keys.length === 1 ? '' : 's'}: ${keys.map((k) => `${k.selector} (${k.algorithm})`).join(', ')}. Publish ${keys.length === 1 ? 'its record' : 'their records'}, then activate.`;
    });
  });
  app.post('/domains/:name/dkim/activate', only('operator'), (c) => {
    const name = c.req.param('name');
    return act(c, `${BASE}/domains/${seg(name)}`, async () => {
      const r = await c.get('svc').activateDkim(name, field(c, 'force') === '1');
      const retiring = r.retiring.length ? ` Retiring: ${r.retiring.map((k) => k.selector).join(', ')}.` : '';
      return `Active now: ${r.activated.map((k) => `${k.selector} (${k.algorithm})`).join(', ') || 'nothing new'}.${retiring}`;
    });
  });
}
