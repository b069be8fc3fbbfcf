/** Every console page, by who may see it (see guard.ts for the roles). */
import type { ConsoleApp, ConsoleDeps } from '../context.ts';
import { roleOfContext } from '../guard.ts';
import { dashboardPage, mountDashboard } from './dashboard.ts';
import { overviewPage } from './overview.ts';
import { mountQueue } from './queue.ts';
import { mountHolds } from './holds.ts';
import { mountBans } from './bans.ts';
import { mountPools } from './pools.ts';
import { mountCustomers } from './customers.ts';
import { mountDomains } from './domains.ts';
import { mountMailboxes } from './mailboxes.ts';
import { mountSuppressions } from './suppressions.ts';
import { mountWebhooks } from './webhooks.ts';
import { mountMessages } from './messages.ts';
import { mountPassword } from './password.ts';
import { mountLifecycle } from './lifecycle.ts';
import { mountAppPasswords } from './app-passwords.ts';

export function mountPages(app: ConsoleApp, deps: ConsoleDeps): void {
  app.get('/', (c) => (roleOfContext(c) === 'operator' ? dashboardPage(c, deps) : overviewPage(c, deps)));
  for (const mount of [
    mountDashboard,
    mountQueue,
    mountHolds,
    mountBans,
    mountPools,
    mountCustomers,
    mountLifecycle,
    mountDomains,
    mountMailboxes,
    mountSuppressions,
    mountWebhooks,
    mountMessages,
    mountPassword,
    mountAppPasswords,
  ]) {
    mount(app, deps);
  }
}
