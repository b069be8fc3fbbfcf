/**
 * admin/api: the admin HTTP API under /api/v1 on the web listener (never on the SMTP ports, nor
 * the sendmail socket): customers, domains, mailboxes, grants, sites, limits, routes, DKIM, the
 * queue, holds, bans, the audit trail, message tracking, the suppression list and webhooks, for operator tokens and customer tokens (which see
 * their own customer only), and its OpenAPI document. Routes are data (routes/*.ts) served by
 * mount.ts and described by openapi.ts; every operation is a call of the admin service the CLI
 * uses. Never touches the store itself, except to authenticate. Fails with RFC 9457 problems.
 * Imports: core, config, observability, credentials, limits, store, webhooks, inject, admin.
 */
import type { Config } from '../../config/index.ts';
import type { SecretBox } from '../../credentials/index.ts';
import type { Store } from '../../store/index.ts';
import type { Hono } from 'hono';
import type { Env } from '../../inject/index.ts';
import { createAdminService } from '../service.ts';
import { dkimAdminOptions } from '../dkim.ts';
import { mountAdminApi, type AdminApiDeps } from './mount.ts';
import { ADMIN_ROUTES } from './routes/index.ts';
import { endpointGuardOf } from '../../webhooks/index.ts';

export { ADMIN_ROUTES } from './routes/index.ts';
export { openApiDocument } from './openapi.ts';
export type { AnyRoute, RouteDef, Access } from './registry.ts';
export { route, API_BASE } from './registry.ts';
export type { AdminApiDeps } from './mount.ts';

/** Serves every admin route (and the OpenAPI document) on the app of the web listener. */
export function mountAdminRoutes(app: Hono<Env>, deps: AdminApiDeps): void {
  mountAdminApi(app, ADMIN_ROUTES, deps);
}

/** The admin service for an actor, as the server runs it (the DKIM options made once). */
export function adminServiceFactory(
  config: Config,
  store: Store,
  secrets: () => SecretBox,
  now: () => number,
): (actor: string) => ReturnType<typeof createAdminService> {
  const dkim = dkimAdminOptions(config, store, secrets, now);
  return (actor) =>
    createAdminService(store, {
      now,
      secrets,
      actor,
      dkim,
      webhooks: { allowInsecure: config.webhooks.allowInsecure, guard: endpointGuardOf(config) },
      suppressionDays: config.suppression.days,
      pools: { pools: config.delivery.pools, defaultPool: config.delivery.defaultPool ?? null },
    });
}
