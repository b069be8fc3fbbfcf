/**
 * Mailboxes and sites on hold (suspected misuse), for the admin service: list them with what
 * they kept back, release a mailbox or a site (`site:NAME`) with its held mail, or one held
 * message; purge what a held mailbox or site kept back.
 */
import { addressKey, type Mailbox, type QueuedMessage, type Site } from '../core/index.ts';
import type { Store } from '../store/index.ts';
import { AdminError, missing } from './errors.ts';
import { audit, read, mailbox, mailboxKey, message, str, SITE as SITE_VIEW, type Declarations } from './audit.ts';

const SITE = 'site:';

export function createHoldService(store: Store, mailboxOrFail: (address: string) => Promise<Mailbox>, now: () => number) {
  const heldOf = (address: string) => store.queue.list({ state: 'held', authUser: address, limit: 100_000 });
  const heldOfSite = (name: string) => store.queue.list({ state: 'held', site: name, limit: 100_000 });
  async function siteOrFail(target: string): Promise<Site> {
    const s = await store.sites.get(target.slice(SITE.length));
    if (!s) throw missing(`no site named ${target.slice(SITE.length)}`);
    return s;
  }
  return {
    async listHolds() {
      const mailboxes = await store.mailboxes.held();
      const sites = await store.sites.held();
      const spam = (held: QueuedMessage[]) => held.filter((q) => q.holdReason === 'content').length;
      const rows = await Promise.all(
        mailboxes.map(async (m) => {
          const held = await heldOf(m.address);
          return { mailbox: m, heldMessages: held.length, heldSpam: spam(held) };
        }),
      );
      const siteRows = await Promise.all(
        sites.map(async (s) => {
          const held = await heldOfSite(s.name);
          return { site: s, heldMessages: held.length, heldSpam: spam(held) };
        }),
      );
      const loose = (await store.queue.list({ state: 'held', limit: 100_000 })).filter(
        (q) => !mailboxes.some((m) => m.address === q.authUser) && !sites.some((s) => s.name === q.siteName),
      );
      return { mailboxes: rows, sites: siteRows, messages: loose };
    },
    /**
     * ADDRESS or site:NAME: it leaves hold and its held mail is released, except what the content
     * scanner held (spam: only with includeSpam); ID: one held message.
     */
    async releaseHold(
      target: string,
      o: { includeSpam?: boolean } = {},
    ): Promise<{ mailbox: Mailbox | null; site?: Site; released: number; keptSpam: number }> {
      const releaseAll = async (held: QueuedMessage[]) => {
        let released = 0;
        let keptSpam = 0;
        for (const q of held) {
          if (q.holdReason === 'content' && !o.includeSpam) keptSpam++;
          else if (await store.queue.release(q.id, now())) released++;
        }
        return { released, keptSpam };
      };
      if (target.startsWith(SITE)) {
        const site = await siteOrFail(target);
        const wasHeld = await store.sites.unhold(site.id, now());
        const r = await releaseAll(await heldOfSite(site.name));
        if (!wasHeld && !r.released)
          throw new AdminError(
            `site ${site.name} is not on hold and has no held mail${r.keptSpam ? ' (but spam held by the scanner: --include-spam)' : ''}`,
          );
        return { mailbox: null, site, ...r };
      }
      if (target.includes('@')) {
        const m = await mailboxOrFail(target);
        const wasHeld = await store.mailboxes.unhold(m.id, now());
        const r = await releaseAll(await heldOf(m.address));
        if (!wasHeld && !r.released)
          throw new AdminError(
            `${m.address} is not on hold and has no held mail${r.keptSpam ? ' (but spam held by the scanner: --include-spam)' : ''}`,
          );
        return { mailbox: m, ...r };
      }
      if (!(await store.queue.release(target, now()))) throw missing(`no held message ${target}`);
      return { mailbox: null, released: 1, keptSpam: 0 };
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

/** What the audit trail records of each hold operation: the mailbox, the site or the message it was about. */
export const holdOperations = {
  listHolds: read,
  releaseHold: audit('releaseHold', {
    target: (a) => (str(a[0]).includes('@') ? mailboxKey(a) : str(a[0])),
    snapshot: (s, t) =>
      t.startsWith(SITE) ? SITE_VIEW.snapshot(s, t, [t.slice(SITE.length)]) : t.includes('@') ? mailbox(s, t) : message(s, t),
  }),
  purgeHold: audit('purgeHold', {
    target: (a) => (str(a[0]).startsWith(SITE) ? str(a[0]) : mailboxKey(a)),
    snapshot: (s, t) => (t.startsWith(SITE) ? SITE_VIEW.snapshot(s, t, [t.slice(SITE.length)]) : mailbox(s, t)),
  }),
} satisfies Declarations<ReturnType<typeof createHoldService>>;
