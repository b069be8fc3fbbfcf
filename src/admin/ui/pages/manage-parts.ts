/**
 * Pieces shared by the management pages (customers, domains, mailboxes, webhooks): the limits
 * table with its forms, a page that shows a secret once (a generated password, a webhook
 * secret: in the body of the POST's answer only, never in a URL or a cookie), and a
 * confirmation page for what cannot be undone.
 */
import type { Context } from 'hono';
import type { ConsoleEnv } from '../context.ts';
import { ACTIONS, METRICS, WINDOWS } from '../../../limits/index.ts';
import { BASE, csrfField, html, page, postButton, table, type Html } from '../html.ts';

/** A rule as the admin service's showLimits answers it. */
export interface LimitRow {
  level: string;
  target: string;
  window: string;
  metric: string;
  max: number;
  action: string;
  usage: number | null;
}

/** A limit target offered in the "applies to" list: `level:target`. */
export interface LimitTarget {
  level: string;
  target: string;
  label: string;
}

export const targetValue = (t: { level: string; target: string }): string => `${t.level}:${t.target}`;

/** "mailbox:a@b.example" -> level and target (the target may hold colons: only the first one splits). */
export function parseTarget(v: string): { level: string; target: string } | null {
  const i = v.indexOf(':');
  return i > 0 && i < v.length - 1 ? { level: v.slice(0, i), target: v.slice(i + 1) } : null;
}

const appliesTo = (r: LimitRow) =>
  r.target === '*' ? html`every ${r.level} <span class="muted">(default)</span>` : html`${r.level} <code>${r.target}</code>`;

/** The limits table; with `removeAction`, each rule of a named target has a Remove button (defaults are not removed here). */
export function limitsTable(c: Context<ConsoleEnv>, caption: string, rows: LimitRow[], removeAction?: string): Html {
  const headers = ['Applies to', 'Window', 'Counts', 'Maximum', 'Used now', 'When reached', ...(removeAction ? ['Change'] : [])];
  return table(
    caption,
    headers,
    rows.map((r) => [
      appliesTo(r),
      r.window,
      r.metric,
      r.max,
      r.usage === null ? html`<span class="muted">not counted here</span>` : r.usage,
      r.action,
      ...(removeAction
        ? [
            r.target === '*'
              ? html`<span class="muted">server default</span>`
              : postButton(c, removeAction, 'Remove…', {
                  fields: { level: r.level, target: r.target, window: r.window, metric: r.metric },
                  danger: true,
                  what: `the ${r.metric} per ${r.window} limit of ${r.target}`,
                }),
          ]
        : []),
    ]),
    "No limits apply here besides the server's own.",
  );
}

const options = (list: readonly string[], selected?: string) =>
  list.map((v) => html`<option value="${v}"${v === selected ? html` selected` : ''}>${v}</option>`);

/** The form that sets a limit on one of `targets` (POST to `action`: target, window, metric, max, action). */
export function limitForm(c: Context<ConsoleEnv>, action: string, targets: LimitTarget[]): Html {
  return html`<form method="post" action="${action}" class="filters">${csrfField(c.get('session'))}
<div><label for="limit-target">Applies to</label><select id="limit-target" name="target">${targets.map((t) => html`<option value="${targetValue(t)}">${t.label}</option>`)}</select></div>
<div><label for="limit-window">Window</label><select id="limit-window" name="window">${options(WINDOWS, 'hour')}</select></div>
<div><label for="limit-metric">Counts</label><select id="limit-metric" name="metric">${options(METRICS)}</select></div>
<div><label for="limit-max">Maximum</label><input id="limit-max" name="max" type="number" min="0" step="1" required inputmode="numeric"></div>
<div><label for="limit-action">When reached</label><select id="limit-action" name="action">${options(ACTIONS)}</select></div>
<div><button type="submit">Set the limit</button></div></form>
<p class="muted">defer: later mail waits and is retried; reject: refused at once; hold: kept for an operator. Setting a rule again for the same target, window and count replaces it.</p>`;
}

/** The answer to a POST that made a secret: shown here once (the page is not cached; reloading it does not show it again). */
export function secretPage(
  c: Context<ConsoleEnv>,
  o: { title: string; intro: string; label: string; secret: string; back: string; backLabel: string; status?: number },
): Promise<Response> {
  return page(c, {
    title: o.title,
    status: o.status,
    body: html`<p class="flash" role="status">${o.intro}</p>
<dl class="facts"><dt>${o.label}</dt><dd><code class="secret">${o.secret}</code></dd></dl>
<p>Copy it now: it is shown only this once and is not stored in readable form.</p>
<p><a href="${o.back}">${o.backLabel}</a></p>`,
  });
}

export { confirmPage, confirmed } from '../confirm.ts';

/** Encodes one path segment of a console link (addresses, domains, names). */
export const seg = (v: string): string => encodeURIComponent(v);

export const customerLink = (name: string): Html => html`<a href="${BASE}/customers/${seg(name)}">${name}</a>`;
export const domainLink = (name: string): Html => html`<a href="${BASE}/domains/${seg(name)}">${name}</a>`;
export const mailboxLink = (address: string): Html => html`<a href="${BASE}/mailboxes/${seg(address)}">${address}</a>`;
