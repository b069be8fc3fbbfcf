/**
 * Mailboxes and sites on hold (suspected misuse), for the admin service: list them with what
 * they kept back, release a mailbox or a site (`site:NAME`) with its held mail, or one held
 * message; purge what a held mailbox or site kept back.
 */
import { addressKey } from '../core/index.ts';
import type { Mailbox, Site, Store } from '../store/index.ts';
import { AdminError } from './errors.ts';

const SITE = 'site:';

export function createHoldService(store: Store, mailboxOrFail: (address: string) => Promise<Mailbox>, now: () => number) {
  const heldOf = (address: string) => store.queue.list({ state: 'held', authUser: address, limit: 100_000 });
  const heldOfSite = (name: string) => store.queue.list({ state: 'held', site: name, limit: 100_000 });
  async function siteOrFail(target: string): Promise<Site> {
    const s = await store.sites.get(target.slice(SITE.length));
    if (!s) throw new AdminError(`no site named ${target.slice(SITE.length)}`);
    return s;
  }
  return {
    async listHolds() {
      const mailboxes = await store.mailboxes.held();
      const sites = await store.sites.held();
      const rows = await Promise.all(mailboxes.map(async (m) => ({ mailbox: m, heldMessages: (await heldOf(m.address)).length })));
      const siteRows = await Promise.all(sites.map(async (s) => ({ site: s, heldMessages: (await heldOfSite(s.name)).length })));
      const loose = (await store.queue.list({ state: 'held', limit: 100_000 }))
        .filter((q) => !mailboxes.some((m) => m.address === q.authUser) && !sites.some((s) => s.name === q.siteName));
      return { mailboxes: rows, sites: siteRows, messages: loose };
    },
    /** ADDRESS or site:NAME: it leaves hold and its held mail is released; ID: one held message. */
    async releaseHold(target: string): Promise<{ mailbox: Mailbox | null; site?: Site; released: number }> {
      if (target.startsWith(SITE)) {
        const site = await siteOrFail(target);
        const wasHeld = await store.sites.unhold(site.id, now());
        let released = 0;
        for (const q of await heldOfSite(site.name)) if (await store.queue.release(q.id, now())) released++;
        if (!wasHeld && !released) throw new AdminError(`site ${site.name} is not on hold and has no held mail`);
        return { mailbox: null, site, released };
      }
      if (target.includes('@')) {
        const m = await mailboxOrFail(target);
        const wasHeld = await store.mailboxes.unhold(m.id, now());
        let released = 0;
        for (const q of await heldOf(m.address)) if (await store.queue.release(q.id, now())) released++;
        if (!wasHeld && !released) throw new AdminError(`${m.address} is not on hold and has no held mail`);
        return { mailbox: m, released };
      }
      if (!(await store.queue.release(target, now()))) throw new AdminError(`no held message ${target}`);
      return { mailbox: null, released: 1 };
    },
    async purgeHold(target: string, removeBody: (relPath: string) => Promise<void>): Promise<number> {
      const held = target.startsWith(SITE)
        ? await heldOfSite((await siteOrFail(target)).name)
        : await heldOf((await mailboxOrFail(addressKey(target) ?? target)).address);
      let purged = 0;
      for (const q of held) {
        const removed = await store.queue.remove(q.id);
        if (!removed) continue;
        purged++;
        if (removed.bodyPath) await removeBody(removed.bodyPath).catch(() => undefined); // swept at the next start
      }
      return purged;
    },
  };
}
