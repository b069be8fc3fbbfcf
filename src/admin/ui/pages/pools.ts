/**
 * Egress pools (operators only): the configured pools (delivery.pools) with their addresses,
 * HELO name, address choice and concurrency; who is assigned to each (with Unassign); and a
 * form that assigns a customer, hosted domain or site to a pool. Pools themselves are
 * configuration and are not edited here.
 */
import type { ConsoleApp, ConsoleDeps } from '../context.ts';
import { act, field } from '../actions.ts';
import { only } from '../guard.ts';
import { BASE, csrfField, html, page, postButton, table, time } from '../html.ts';
import { notFound } from '../guard.ts';
import { liveSection, raceCheck } from './domains.ts';

const BACK = `${BASE}/pools`;

export function mountPools(app: ConsoleApp, _deps: ConsoleDeps): void {
  app.get('/pools', only('operator'), async (c) => {
    const svc = c.get('svc');
    const pools = await svc.listPools();
    const assigned = await svc.listPoolAssignments();
    const listings = await svc.listBlocklistResults();
    const listingRows = listings.map((r) => [
      html`<span class="mono">${r.address}</span>`,
      r.pool,
      r.zone,
      r.listed ? html`<strong>listed</strong> (${r.codes.join(', ')}${r.meaning ? `: ${r.meaning}` : ''})` : 'not listed',
      r.listed ? time(r.listedSince) : '',
      time(r.checkedAt),
    ]);
    const poolRows = pools.map((p) => [
      html`<a href="${BASE}/pools/${encodeURIComponent(p.name)}"><span class="mono">${p.name}</span></a>${p.isDefault ? html` <span class="muted">(default)</span>` : ''}`,
      html`<span class="mono">${p.addresses.join(' ')}</span>`,
      html`<span class="mono">${p.helo}</span>`,
      p.select === 'hash' ? 'hash of the recipient domain' : 'round robin',
      p.concurrency ?? 'no limit of its own',
      p.assignments,
    ]);
    const known = new Set(pools.map((p) => p.name));
    const rows = assigned.map((a, i) => [
      a.kind,
      html`<span id="pa-${i}" class="mono">${a.name}</span>`,
      a.customerName,
      known.has(a.pool) ? a.pool : html`${a.pool} <strong>(not configured: its mail is deferred)</strong>`,
      time(a.updatedAt),
      postButton(c, `${BASE}/pools/unassign`, 'Unassign', { fields: { kind: a.kind, name: a.name }, describedBy: `pa-${i}` }),
    ]);
    const options = pools.map((p) => html`<option value="${p.name}">${p.name}</option>`);
    return page(c, {
      title: 'Egress pools',
      body: html`<p>Each pool is a set of this host's source addresses with its own HELO name, so that one customer's listing on a blocklist does not stop everyone's mail. Mail leaves from its site's pool, else its sender domain's, else its customer's, else the default pool. Pools are set in the configuration (<code>delivery.pools</code>).</p>
<h2>Pools</h2>
${table('Configured egress pools', ['Pool', 'Addresses', 'HELO name', 'Address per connection', 'Attempts at once', 'Assigned'], poolRows, "No pool is configured: all mail leaves from the host's default address.")}
<h2>Blocklists</h2>
<p class="muted">Each pool address is asked of the DNS blocklists in <code>blocklists.zones</code>; a new listing is mailed to the postmaster and, for a pool with a <code>fallback</code>, its mail leaves from the fallback until the address is delisted. Prometheus: <code>postern_blocklist_listed</code>.</p>
${table('Blocklist answers about our addresses', ['Address', 'Pool', 'Blocklist', 'Answer', 'Listed since', 'Checked'], listingRows, 'No blocklist check has run (no zones configured, or not yet).')}
<h2>Assignments</h2>
${table('Who sends from which pool', ['Kind', 'Name', 'Customer', 'Pool', 'Since', 'Action'], rows, 'Nothing is assigned.')}
${
  pools.length
    ? html`<h2>Assign</h2>
<form method="post" action="${BASE}/pools/assign">${csrfField(c.get('session'))}
<label for="assign-pool">Pool</label><select id="assign-pool" name="pool">${options}</select>
<label for="assign-kind">Kind</label><select id="assign-kind" name="kind"><option value="customer">customer</option><option value="domain">domain</option><option value="site">site</option></select>
<label for="assign-name">Name</label><input id="assign-name" name="name" required>
<button type="submit">Assign</button></form>`
    : ''
}`,
    });
  });
  app.get('/pools/:name', only('operator'), async (c) => {
    const name = c.req.param('name');
    const pools = await c.get('svc').listPools();
    if (!pools.some((p) => p.name === name)) return notFound(c);
    const live = await raceCheck(c.get('svc').checkPool(name));
    return page(c, {
      title: `Pool ${name}`,
      body: html`<p>The live DNS check of the pool: each address's PTR must name a host that resolves back to it (forward-confirmed) and is the pool's HELO name, the HELO name must resolve to the pool's addresses, and the SPF record of every domain sending from the pool must cover them. What to publish is shown beside each failing check.</p>
<p><a href="${BASE}/pools">All pools</a></p>
${liveSection(live)}`,
    });
  });
  app.post('/pools/assign', only('operator'), (c) =>
    act(c, BACK, async () => {
      const a = await c.get('svc').assignPool(field(c, 'kind'), field(c, 'name'), field(c, 'pool'));
      return `${a.kind} ${a.name} sends from pool ${a.pool}.`;
    }),
  );
  app.post('/pools/unassign', only('operator'), (c) =>
    act(c, BACK, async () => {
      const kind = field(c, 'kind');
      const name = field(c, 'name');
      await c.get('svc').unassignPool(kind, name);
      return `${kind} ${name} has no pool of its own now.`;
    }),
  );
}
