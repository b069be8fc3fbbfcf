/**
 * The one confirmation step of every destructive console action (delete, delete and bounce,
 * purge, remove): a page that says what will happen and to how many, a Cancel that has the
 * focus when the page opens (Enter or Space backs out), and the action as a danger button that
 * posts the same form again with confirm=yes. No script: the first POST without confirm=yes
 * answers this page; only the second acts.
 */
import type { Context } from 'hono';
import type { ConsoleEnv } from './context.ts';
import { csrfField, html, page, type Html } from './html.ts';
import { safeNext } from './guard.ts';
import { field } from './actions.ts';

export interface Confirmation {
  /** The question as the page's h1: "Delete message Q1?". */
  title: string;
  /** What will happen, with the count, and whether it can be undone. */
  what: Html;
  /** Where the confirmed form posts, and its fields (besides the CSRF token and confirm=yes). */
  action: string;
  fields?: Record<string, string>;
  /** The danger button's words: "Delete 1 message". */
  button: string;
  /** Where Cancel goes (a console path). */
  back: string;
}

/** True when the posted form is the confirmed one. */
export const confirmed = (c: Context<ConsoleEnv>): boolean => field(c, 'confirm') === 'yes';

export function confirmPage(c: Context<ConsoleEnv>, o: Confirmation): Promise<Response> {
  return page(c, {
    title: o.title,
    body: html`<p id="confirm-what">${o.what}</p>
<form class="confirm" method="post" action="${o.action}">${csrfField(c.get('session'))}${Object.entries(o.fields ?? {}).map(([k, v]) => html`<input type="hidden" name="${k}" value="${v}">`)}<input type="hidden" name="confirm" value="yes">
<a class="button" href="${safeNext(o.back)}" autofocus>Cancel</a>
<button type="submit" class="danger" aria-describedby="confirm-what">${o.button}</button></form>`,
  });
}
