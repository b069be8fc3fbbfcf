/**
 * The client-setup routes of the HTTPS listener: Thunderbird autoconfig, Outlook Autodiscover
 * (POX), the Apple profile and the settings page. Only hosted domains get an answer; any other
 * name gets the same 404 whether or not anything exists behind it (no enumeration, and a
 * mailbox's existence is never revealed: the answer depends on the domain only).
 */
import type { Env, Hono } from 'hono';
import { autoconfigXml } from './autoconfig.ts';
import { autodiscoverError, autodiscoverXml, requestedAddress } from './autodiscover.ts';
import { mobileconfig } from './mobileconfig.ts';
import { notFoundPage, settingsPage } from './page.ts';
import { domainOfAddress, type ClientSettings } from './settings.ts';
import { readLimited } from '../core/index.ts';

export interface ClientSetupDeps {
  isHosted(domain: string): Promise<boolean>;
  settings(): ClientSettings;
}

const DOMAIN = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$/;
const XML = { 'content-type': 'application/xml; charset=utf-8', 'cache-control': 'max-age=300' };
const MAX_AUTODISCOVER_BYTES = 64 * 1024;

/** The domain a request is about: ?domain= / the address asked for, else the Host name (autoconfig.D, autodiscover.D or D). */
function domainOf(host: string | undefined, explicit: string | null | undefined): string | null {
  const raw = (explicit ?? (host ?? '').replace(/:\d+$/, '').replace(/^(autoconfig|autodiscover)\./i, '')).toLowerCase().replace(/\.$/, '');
  return DOMAIN.test(raw) ? raw : null;
}

export function mountClientSetup<E extends Env>(app: Hono<E>, deps: ClientSetupDeps): void {
  const hosted = async (d: string | null): Promise<string | null> => (d && (await deps.isHosted(d)) ? d : null);
  const notFoundXml = () =>
    new Response('<?xml version="1.0" encoding="UTF-8"?>\n<error>not found</error>\n', {
      status: 404,
      headers: { 'content-type': 'application/xml; charset=utf-8' },
    });

  const autoconfig = async (c: { req: { header(n: string): string | undefined; query(n: string): string | undefined } }) => {
    const email = c.req.query('emailaddress');
    const d = await hosted(domainOf(c.req.header('host'), email !== undefined ? (domainOfAddress(email) ?? '') : null));
    if (!d) return notFoundXml();
    return new Response(autoconfigXml(d, deps.settings()), { headers: XML });
  };
  app.get('/.well-known/autoconfig/mail/config-v1.1.xml', (c) => autoconfig(c));
  app.get('/mail/config-v1.1.xml', (c) => autoconfig(c));

  const autodiscover = async (c: { req: { raw: Request; header(n: string): string | undefined } }) => {
    if (Number(c.req.header('content-length') ?? 0) > MAX_AUTODISCOVER_BYTES)
      return new Response(autodiscoverError(600, 'Invalid Request'), { status: 400, headers: XML });
    const body = await readLimited(c.req.raw.body, MAX_AUTODISCOVER_BYTES);
    const address = body === null ? null : requestedAddress(body);
    const d = address ? await hosted(domainOfAddress(address)) : null;
    if (!address) return new Response(autodiscoverError(600, 'Invalid Request'), { status: 400, headers: XML });
    if (!d) return notFoundXml();
    return new Response(autodiscoverXml(address, deps.settings()), { headers: { ...XML, 'cache-control': 'no-store' } });
  };
  for (const p of ['/autodiscover/autodiscover.xml', '/Autodiscover/Autodiscover.xml', '/AutoDiscover/AutoDiscover.xml'])
    app.post(p, (c) => autodiscover(c));

  const page = (status: number, html: string) =>
    new Response(html, {
      status,
      headers: {
        'content-type': 'text/html; charset=utf-8',
        'x-content-type-options': 'nosniff',
        'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
      },
    });
  app.get('/settings', async (c) => {
    const d = await hosted(domainOf(c.req.header('host'), c.req.query('domain')));
    if (!d) return page(404, notFoundPage());
    const s = deps.settings();
    return page(200, settingsPage(d, s, { profile: s.incoming.length > 0 }));
  });
  app.get('/settings/profile.mobileconfig', async (c) => {
    const email = (c.req.query('email') ?? '').trim().toLowerCase();
    const d = await hosted(domainOfAddress(email));
    const profile = d ? mobileconfig(email, deps.settings()) : null;
    if (!profile) return page(404, notFoundPage());
    return new Response(profile, {
      headers: {
        'content-type': 'application/x-apple-aspen-config; charset=utf-8',
        'content-disposition': `attachment; filename="${d}.mobileconfig"`,
        'cache-control': 'no-store',
      },
    });
  });
}
