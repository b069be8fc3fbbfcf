/** Running a console form's action: the admin service's answer becomes the next page's message, its refusal an error message; then back (POST, redirect, GET). */
import type { Context } from 'hono';
import { AdminError } from '../errors.ts';
import type { ConsoleEnv } from './context.ts';
import { flash } from './html.ts';
import { safeNext } from './guard.ts';

export async function act(c: Context<ConsoleEnv>, back: string, fn: () => Promise<string>): Promise<Response> {
  try {
    flash(c, await fn());
  } catch (err) {
    if (!(err instanceof AdminError)) throw err;
    flash(c, err.message, 'error');
  }
  return c.redirect(safeNext(back), 303);
}

/** A form field, trimmed ('' when absent). */
export const field = (c: Context<ConsoleEnv>, name: string): string => (c.get('form')[name] ?? '').trim();
