/** Every route of the admin API, in the order the OpenAPI document lists them. */
import type { AnyRoute } from '../registry.ts';
import { customerRoutes, domainRoutes, mailboxRoutes } from './tenants.ts';
import { siteRoutes } from './sites.ts';
import { limitRoutes, routeRoutes } from './limits.ts';
import { holdRoutes, opsRoutes, queueRoutes } from './queue.ts';

export const ADMIN_ROUTES: AnyRoute[] = [
  ...customerRoutes,
  ...domainRoutes,
  ...mailboxRoutes,
  ...siteRoutes,
  ...limitRoutes,
  ...routeRoutes,
  ...queueRoutes,
  ...holdRoutes,
  ...opsRoutes,
  // Message tracking (the tracking branch) registers its routes here, e.g. `...trackingRoutes`
  // from ./tracking.ts: GET /tracking/... with access 'customer' and the scope passed to its
  // service function. The send API's POST /api/v1/messages stays in src/inject/api.ts.
];
