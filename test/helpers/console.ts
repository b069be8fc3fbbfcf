/**
 * Client side of the web console for integration tests. Over HTTPS with a cookie jar (what a
 * browser keeps), posting forms with the CSRF token of the last page it read; and, for the
 * browser tests, signing a playwright page in through the real sign-in form.
 */
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { httpsCall, type AdminAnswer } from './admin-api.ts';
import { webPort } from './api.ts';
import type { TestServer } from './server.ts';

export type Credentials = { token: string } | { login: string; password: string };

/** The CSRF token of a console page (its forms' hidden _csrf field), or null. */
export const csrfOf = (text: string): string | null => /name="_csrf" value="([^"]+)"/.exec(text)?.[1] ?? null;

export function createConsoleClient(s: TestServer) {
  const jar = new Map<string, string>();
  let csrf: string | null = null;
  const port = () => webPort(s);
  function remember(a: AdminAnswer): AdminAnswer {
    for (const line of ([] as string[]).concat(a.headers['set-cookie'] ?? [])) {
      const [pair] = line.split(';');
      const i = pair!.indexOf('=');
      const name = pair!.slice(0, i).trim();
      const value = pair!.slice(i + 1).trim();
      if (!value || /max-age=0/i.test(line) || /expires=Thu, 01 Jan 1970/i.test(line)) jar.delete(name);
      else jar.set(name, value);
    }
    csrf = csrfOf(a.text) ?? csrf;
    return a;
  }
  const cookie = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  const client = {
    jar,
    get csrf() {
      return csrf;
    },
    async get(path: string, headers: Record<string, string> = {}): Promise<AdminAnswer> {
      return remember(await httpsCall(port(), 'GET', path, { cookie: cookie(), ...headers }));
    },
    /** POSTs a url-encoded form (with the last page's CSRF token unless `_csrf` is given). */
    async post(path: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<AdminAnswer> {
      const form = new URLSearchParams({ ...(csrf && !('_csrf' in fields) ? { _csrf: csrf } : {}), ...fields });
      const body = Buffer.from(form.toString());
      return remember(
        await httpsCall(
          port(),
          'POST',
          path,
          {
            cookie: cookie(),
            'content-type': 'application/x-www-form-urlencoded',
            'content-length': body.length,
            ...headers,
          },
          body,
        ),
      );
    },
    /** Signs in through the form; asserts the redirect into the console. */
    async signIn(cred: Credentials, next?: string): Promise<AdminAnswer> {
      await client.get('/console/login');
      const a = await client.post(
        '/console/login',
        'token' in cred
          ? { method: 'token', token: cred.token, ...(next ? { next } : {}) }
          : { method: 'mailbox', login: cred.login, password: cred.password, ...(next ? { next } : {}) },
      );
      assert.equal(a.status, 303, `signed in: ${a.status} ${a.text.slice(0, 300)}`);
      await client.get(String(a.headers.location));
      return a;
    },
  };
  return client;
}

/** Signs a browser page in through the sign-in form (mailbox or token) and waits for the console. */
export async function browserSignIn(page: Page, s: TestServer, cred: Credentials): Promise<void> {
  await page.goto(`https://127.0.0.1:${webPort(s)}/console/login`);
  if ('token' in cred) {
    await page.getByLabel('API token').fill(cred.token);
    await page.getByRole('button', { name: 'Sign in with the token' }).click();
  } else {
    await page.getByLabel('Email address').fill(cred.login);
    await page.getByLabel('Password').fill(cred.password);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  }
  // the click does not wait for the navigation: wait until the page has left the sign-in form
  await page.waitForURL((u) => /^\/console(\/|$)/.test(u.pathname) && u.pathname !== '/console/login');
  assert.ok(!page.url().includes('/login'), `signed in (${page.url()})`);
}
