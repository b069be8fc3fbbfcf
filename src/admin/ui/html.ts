/**
 * The console's page frame and small building blocks, on hono's html template (every
 * interpolated value is escaped; nested html`` is not). One h1 per page, a skip link, the
 * navigation of the session's role with the current page marked, the flash message of the
 * last action, and the headers every page carries (no caching, no framing, no script).
 */
import type { Context } from 'hono';
import { html } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';
import { getCookie, setCookie, deleteCookie } from 'hono/cookie';
import type { ConsoleSession } from '../../core/index.ts';
import type { ConsoleEnv } from './context.ts';

export type Html = HtmlEscapedString | Promise<HtmlEscapedString>;
export { html };

export const BASE = '/console';
const FLASH = 'postern-flash';

/** Headers of every console response: nothing cached, framed, sniffed, referred or scripted. */
export const SECURITY_HEADERS: Record<string, string> = {
  'cache-control': 'no-store',
  'content-security-policy':
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  // same-origin, not no-referrer: with no-referrer Chromium sends "Origin: null" on the console's own form posts, which the CSRF guard refuses as cross-site
  'referrer-policy': 'same-origin',
};

const OPERATOR_NAV: [string, string][] = [
  ['', 'Dashboard'],
  ['/messages', 'Messages'],
  ['/queue', 'Queue'],
  ['/holds', 'Holds'],
  ['/customers', 'Customers'],
  ['/bans', 'Bans'],
  ['/pools', 'Pools'],
  ['/suppressions', 'Suppressions'],
  ['/webhooks', 'Webhooks'],
  ['/security', 'Security'],
];
const CUSTOMER_NAV: [string, string][] = [
  ['', 'Overview'],
  ['/messages', 'Sent mail'],
  ['/suppressions', 'Suppressions'],
  ['/webhooks', 'Webhooks'],
  ['/password', 'Password'],
  ['/app-passwords', 'App passwords'],
  ['/security', 'Security'],
];
const MAILBOX_NAV: [string, string][] = [
  ['', 'Overview'],
  ['/messages', 'Sent mail'],
  ['/password', 'Password'],
  ['/app-passwords', 'App passwords'],
  ['/security', 'Security'],
];

function nav(session: ConsoleSession, path: string, label: string): Html {
  const items = session.customerId === null ? OPERATOR_NAV : session.via === 'mailbox' ? MAILBOX_NAV : CUSTOMER_NAV;
  const current = (p: string) => (p === '' ? path === BASE || path === `${BASE}/` : path === BASE + p || path.startsWith(`${BASE + p}/`));
  return html`<nav aria-label="${label}"><ul>${items.map(([p, text]) => html`<li><a href="${BASE + p}"${current(p) ? html` aria-current="page"` : ''}>${text}</a></li>`)}</ul></nav>`;
}

/**
 * The sticky header: on a wide screen the navigation in one row with who is signed in and Sign
 * out; on a phone (CSS hides one or the other) the same in a Menu that opens without script.
 */
function header(session: ConsoleSession | null, path: string): Html {
  if (!session) return html`<header><div class="bar"><span class="brand">Postern console</span></div></header>`;
  const signOut = html`<form class="inline" method="post" action="${BASE}/logout">${csrfField(session)}<button class="secondary" type="submit">Sign out</button></form>`;
  const whoText = who(session);
  return html`<header><div class="bar"><span class="brand">Postern console</span>
<div class="wide">${nav(session, path, 'Console')}<span class="who muted" title="Signed in as ${whoText}"><span class="vh">Signed in as </span>${whoText}</span>${signOut}</div>
<details class="narrow"><summary>Menu</summary><div class="menu">${nav(session, path, 'Console menu')}<p class="muted">Signed in as ${whoText}</p>${signOut}</div></details></div></header>`;
}

/**
 * An id that never wraps: monospace, shortened (its start and its end) with the whole value on
 * hover (title) and for screen readers; a link when `to` is given. `anchor` sets the element id.
 */
export function idText(id: string, o: { to?: string; anchor?: string } = {}): Html {
  const short = id.length > 14 ? `${id.slice(0, 4)}…${id.slice(-6)}` : id;
  const inner = short === id ? html`${id}` : html`<span aria-hidden="true">${short}</span><span class="vh">${id}</span>`;
  return o.to
    ? html`<a class="id"${o.anchor ? html` id="${o.anchor}"` : ''} href="${o.to}" title="${id}">${inner}</a>`
    : html`<span class="id"${o.anchor ? html` id="${o.anchor}"` : ''} title="${id}">${inner}</span>`;
}

/** A value to copy without script: a read-only field whose text is selected with one click and copied with the keyboard. */
export const copyField = (label: string, value: string, fieldId: string): Html =>
  html`<label class="vh" for="${fieldId}">${label}</label><input class="copy" id="${fieldId}" type="text" readonly value="${value}" size="${Math.min(Math.max(value.length, 8), 60)}">`;

/** Who is signed in, as the header shows it. */
const who = (s: ConsoleSession) => (s.customerId === null ? `operator (${s.subject})` : `${s.customerName} (${s.subject})`);

/** Sets the message the next page shows (after a redirect). */
export function flash(c: Context, text: string, kind: 'ok' | 'error' = 'ok'): void {
  setCookie(c, FLASH, `${kind}:${encodeURIComponent(text.slice(0, 1000))}`, {
    prefix: 'host',
    path: '/',
    secure: true,
    httpOnly: true,
    sameSite: 'Strict',
    maxAge: 60,
  });
}

function takeFlash(c: Context): { kind: string; text: string } | null {
  const v = getCookie(c, FLASH, 'host');
  if (!v) return null;
  deleteCookie(c, FLASH, { prefix: 'host', path: '/', secure: true });
  const i = v.indexOf(':');
  try {
    return { kind: v.slice(0, i) === 'error' ? 'error' : 'ok', text: decodeURIComponent(v.slice(i + 1)) };
  } catch {
    return null;
  }
}

/** A whole page: title, frame and body; signed-out pages (sign-in, errors) have no navigation. */
export async function page(
  c: Context<ConsoleEnv>,
  o: { title: string; body: Html; status?: number; session?: ConsoleSession | null },
): Promise<Response> {
  const session = o.session === undefined ? c.get('session') : o.session;
  const f = takeFlash(c);
  const doc = html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${o.title} · Postern console</title><link rel="stylesheet" href="${BASE}/console.css"></head>
<body><a class="skip" href="#main">Skip to content</a>
${header(session, c.req.path)}
<main id="main" tabindex="-1"><h1>${o.title}</h1>
${f ? html`<p class="flash${f.kind === 'error' ? ' error' : ''}" role="${f.kind === 'error' ? 'alert' : 'status'}">${f.text}</p>` : ''}
${o.body}</main></body></html>`;
  return c.html(await doc, (o.status ?? 200) as 200, SECURITY_HEADERS);
}

/** The hidden CSRF field every form of a signed-in page carries. */
export const csrfField = (s: ConsoleSession): Html => html`<input type="hidden" name="_csrf" value="${s.csrf}">`;

/** A one-button form that POSTs to `action` (with hidden fields), e.g. "Release". */
export function postButton(
  c: Context<ConsoleEnv>,
  action: string,
  label: string,
  o: { fields?: Record<string, string>; danger?: boolean; describedBy?: string; what?: string } = {},
): Html {
  // `what` completes the accessible name of a button repeated on every row ("Remove x@example.org") without showing it
  return html`<form class="inline" method="post" action="${action}">${csrfField(c.get('session'))}${Object.entries(o.fields ?? {}).map(([k, v]) => html`<input type="hidden" name="${k}" value="${v}">`)}<button type="submit"${o.danger ? html` class="danger"` : ''}${o.describedBy ? html` aria-describedby="${o.describedBy}"` : ''}>${label}${o.what ? html`<span class="vh"> ${o.what}</span>` : ''}</button></form>`;
}

/** A table with a caption, column headers and rows of cells (already Html or plain values), in a scrollable region named by the caption; `empty` when there are no rows. */
export function table(caption: string, headers: string[], rows: unknown[][], empty = 'None.'): Html {
  if (!rows.length) return html`<p>${empty}</p>`;
  // a table wider than a phone scrolls inside its own region (labelled, reachable with Tab to scroll it by keyboard), not the page
  return html`<div class="table-wrap" role="region" aria-label="${caption}" tabindex="0"><table><caption>${caption}</caption><thead><tr>${headers.map((h) => html`<th scope="col">${h}</th>`)}</tr></thead>
<tbody>${rows.map((r) => html`<tr>${r.map((v) => html`<td>${v as string}</td>`)}</tr>`)}</tbody></table></div>`;
}

/** A time as UTC, to the second (machine-readable in the datetime attribute). */
export function time(ms: number | null | undefined): Html {
  if (ms === null || ms === undefined) return html`<span class="muted">never</span>`;
  const iso = new Date(ms).toISOString();
  return html`<time datetime="${iso}">${iso.slice(0, 19).replace('T', ' ')} UTC</time>`;
}

/** A state word with its colour class (and the word itself, so colour is never the only cue). */
export function state(word: string): Html {
  const cls = /^(delivered|active|ok|sent)$/.test(word)
    ? 'ok'
    : /^(failed|bounced|refused|suspended|removing|banned|error|missing|cancelled|expired)$/.test(word)
      ? 'bad'
      : /^(held|deferred|pending|partial|retiring|locked)$/.test(word)
        ? 'warn'
        : '';
  return html`<span class="state ${cls}">${word}</span>`;
}

/** A link to a console path with a query (values encoded). */
export function href(path: string, query: Record<string, string | number | undefined | null> = {}): string {
  const q = Object.entries(query)
    .filter(([, v]) => v !== undefined && v !== null && v !== '')
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  return `${BASE}${path}${q.length ? `?${q.join('&')}` : ''}`;
}

/** "1 message", "2 messages" (regular plurals only). */
export const count = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
