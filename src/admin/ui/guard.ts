/**
 * Who may do what in the console, and the checks every request passes: a live session (else
 * the sign-in page), still backed by a live token or an active mailbox, and for a POST a
 * same-origin request carrying the session's CSRF token in a bounded url-encoded form.
 *
 * Three roles: an operator (an operator API token: every customer), a customer (a customer
 * API token: that customer's domains, mailboxes, sites, log, suppressions, webhooks), and a
 * mailbox user (a mailbox login: that mailbox's own sent mail and password, its domain's status).
 */
import type { Context, MiddlewareHandler } from 'hono';
import { hasControl, readLimited, urlHasControl, type ConsoleSession } from '../../core/index.ts';
import type { Store } from '../../store/index.ts';
import type { ConsoleDeps, ConsoleEnv } from './context.ts';
import { BASE, html, page } from './html.ts';
import { sameSecret, scopeOfSession, type Sessions } from './session.ts';

export type Role = 'operator' | 'customer' | 'mailbox';
export const roleOf = (s: ConsoleSession): Role => (s.customerId === null ? 'operator' : s.via === 'mailbox' ? 'mailbox' : 'customer');
export const roleOfContext = (c: Context<ConsoleEnv>): Role => roleOf(c.get('session'));

/** Largest form a console page posts. */
export const MAX_FORM_BYTES = 64 * 1024;

/** A console path to return to after signing in (never another site, never a protocol-relative URL). */
export const safeNext = (v: string | undefined): string =>
  v &&
  /^\/console(\/[A-Za-z0-9._~%@:+\-/]*)?(\?[^\s#]*)?$/.test(v) &&
  !v.includes('//') &&
  !/\/\.\.?(\/|\?|$)/.test(v) &&
  !/%(2e|2f|5c)/i.test(v.split('?')[0]!)
    ? v
    : BASE;

/** The session still stands for someone: its token is not revoked, its mailbox exists and is active, its customer account is active. */
async function stillValid(store: Store, s: ConsoleSession): Promise<boolean> {
  if (s.via === 'token') {
    const t = await store.apiTokens.get(s.subject);
    return Boolean(t && t.revokedAt === null && t.customerId === s.customerId && (t.customerStatus ?? 'active') === 'active');
  }
  const m = await store.mailboxes.get(s.subject);
  return Boolean(m && m.status === 'active' && m.customerStatus === 'active' && m.customerId === s.customerId);
}

/** A browser's POST from another origin (Origin or Sec-Fetch-Site tells); requests without either (not a browser) pass to the CSRF token check. */
export function crossSite(c: Context): boolean {
  const site = c.req.header('sec-fetch-site');
  // a browser that sends Sec-Fetch-Site is believed (a page cannot forge it); its Origin may be
  // "null" for a same-origin form (Chromium does so under Referrer-Policy no-referrer)
  if (site) return site !== 'same-origin' && site !== 'none';
  const origin = c.req.header('origin');
  if (!origin) return false;
  const host = c.req.header('host');
  return origin === 'null' || !host || origin !== `https://${host}`;
}

/** Answers 400 to a URL with a control character (before anything reads it). */
export function refuseControlCharacters(): MiddlewareHandler<ConsoleEnv> {
  return async (c, next) => {
    if (urlHasControl(c.req.url)) {
      return page(c, {
        title: 'Not a valid address',
        status: 400,
        session: null,
        body: html`<p>This page address contains a control character (such as NUL), which no name, address or id can contain. Check what was typed or pasted; nothing was looked up or changed.</p><p><a href="${BASE}">Back to the start</a></p>`,
      });
    }
    await next();
  };
}

/** Why a posted form was not read. */
export type FormRefusal = 'type' | 'size' | 'control';

/** The url-encoded form of a POST (bounded, no control characters but tab, CR and LF), or why not. */
export async function readForm(c: Context): Promise<Record<string, string> | FormRefusal> {
  const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') return 'type';
  if (Number(c.req.header('content-length') ?? 0) > MAX_FORM_BYTES) return 'size';
  const text = await readLimited(c.req.raw.body, MAX_FORM_BYTES);
  if (text === null) return 'size';
  const form: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(text)) {
    if (hasControl(k) || hasControl(v)) return 'control';
    if (!(k in form)) form[k] = v;
  }
  return form;
}

/** The page that says why a form was refused (nothing was changed). */
export function formRefused(c: Context<ConsoleEnv>, why: 'control' | 'csrf'): Promise<Response> {
  const text =
    why === 'control'
      ? 'A field of this form contains a control character (such as NUL), which no name, address or setting can contain. Check what was pasted and send it again; nothing was changed.'
      : 'This form could not be accepted (it was too old, too large, or sent from another site). Go back, reload the page and try again; nothing was changed.';
  return page(c, { title: 'Form refused', status: why === 'control' ? 400 : 403, body: html`<p>${text}</p>` });
}

/** Requires a live session for everything it guards; sets session, scope, svc and (for a POST) form. */
export function requireSession(deps: ConsoleDeps, sessions: Sessions): MiddlewareHandler<ConsoleEnv> {
  return async (c, next) => {
    const now = deps.clock.now();
    let s = await sessions.current(c, now);
    if (s && !(await stillValid(deps.store, s))) {
      await sessions.end(c, s);
      s = null;
    }
    if (!s) {
      if (c.req.method === 'GET' || c.req.method === 'HEAD')
        return c.redirect(`${BASE}/login?next=${encodeURIComponent(safeNext(c.req.path + new URL(c.req.url).search))}`, 303);
      return page(c, {
        title: 'Signed out',
        status: 401,
        session: null,
        body: html`<p>Your session has ended. <a href="${BASE}/login">Sign in again</a>; nothing was changed.</p>`,
      });
    }
    c.set('session', s);
    c.set('scope', scopeOfSession(s));
    c.set('svc', deps.service(`console:${s.subject}`));
    if (c.req.method === 'POST') {
      const form = crossSite(c) ? 'cross-site' : await readForm(c);
      if (typeof form === 'string' || !form._csrf || !sameSecret(form._csrf, s.csrf)) {
        const why = typeof form === 'string' ? form : 'csrf';
        deps.logger.warn(
          { evt: 'console', ip: c.env.incoming.socket.remoteAddress, path: c.req.path, result: 'refused', reason: why },
          'console form refused',
        );
        return formRefused(c, why === 'control' ? 'control' : 'csrf');
      }
      c.set('form', form);
    }
    await next();
  };
}

/** Answers "not found" to every role but these (a customer never learns what operator pages exist). */
export function only(...roles: Role[]): MiddlewareHandler<ConsoleEnv> {
  return async (c, next) => {
    if (!roles.includes(roleOfContext(c))) return notFound(c);
    await next();
  };
}

export const notFound = (c: Context<ConsoleEnv>, what = 'There is no such page, or it is not yours to see.') =>
  page(c, { title: 'Not found', status: 404, body: html`<p>${what}</p><p><a href="${BASE}">Back to the start</a></p>` });
