/** Every route of the admin API, in the order the OpenAPI document lists them. */
import type { AnyRoute } from '../registry.ts';
import { customerRoutes, domainRoutes, mailboxRoutes } from './tenants.ts';
import { siteRoutes } from './sites.ts';
import { limitRoutes, routeRoutes } from './limits.ts';
import { poolRoutes } from './pools.ts';
import { holdRoutes, opsRoutes, queueRoutes } from './queue.ts';
import { trackingRoutes } from './tracking.ts';
import { suppressionRoutes } from './suppressions.ts';
import { webhookRoutes } from './webhooks.ts';
import { lifecycleRoutes } from './lifecycle.ts';
import { importRoutes } from './imports.ts';

export const ADMIN_ROUTES: AnyRoute[] = [
  ...customerRoutes,
  ...domainRoutes,
  ...lifecycleRoutes,
  ...importRoutes,
  ...mailboxRoutes,
  ...siteRoutes,
  ...limitRoutes,
  ...routeRoutes,
  ...poolRoutes,
  ...queueRoutes,
  ...holdRoutes,
  ...opsRoutes,
  ...trackingRoutes,
  ...suppressionRoutes,
  // /webhooks/deliveries is registered before /webhooks/{id}: the first matching route answers.
  ...webhookRoutes,
  // The send API's POST /api/v1/messages stays in src/inject/api.ts.
];
