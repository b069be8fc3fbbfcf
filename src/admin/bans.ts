/** Brute-force defence, for the admin service: unlock a mailbox, list and lift address bans. */
import net from 'node:net';
import type { Store } from '../store/index.ts';
import type { IpBan, Mailbox } from '../core/index.ts';
import { AdminError, missing, type TenantScope } from './errors.ts';
import { audit, read, str, MAILBOX, type Declarations } from './audit.ts';

export function createBanService(
  store: Store,
  mailboxOrFail: (address: string, scope?: TenantScope) => Promise<Mailbox>,
  now: () => number,
) {
  return {
    async unlock(address: string, scope?: TenantScope): Promise<{ mailbox: Mailbox; wasLocked: boolean }> {
      const m = await mailboxOrFail(address, scope);
      return { mailbox: m, wasLocked: await store.authGuard.unlock(m.id) };
    },
    async loginState(address: string) {
      const m = await mailboxOrFail(address);
      return store.authGuard.loginState(m.id);
    },
    listBans: (): Promise<IpBan[]> => store.authGuard.bans(now()),
    async removeBan(ip: string): Promise<void> {
      if (!net.isIP(ip) && !/^[0-9a-f:]+::\/64$/i.test(ip))
        throw new AdminError(`not an IP address (or an IPv6 /64 as ban list shows it): ${ip}`);
      if (!(await store.authGuard.unban(ip))) throw missing(`${ip} is not banned`);
    },
  };
}

/** What the audit trail records of each login-guard operation. */
export const banOperations = {
  unlock: audit('unlock', MAILBOX),
  loginState: read,
  listBans: read,
  removeBan: audit('removeBan', { target: (a) => `ip:${str(a[0])}`, snapshot: (s, _t, a) => s.authGuard.banOf(str(a[0]), Date.now()) }),
} satisfies Declarations<ReturnType<typeof createBanService>>;
