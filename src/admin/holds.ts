/**
 * Mailboxes on hold (suspected compromise), for the admin service: list them with what they
 * kept back, release a mailbox (and its held mail) or one held message, purge what a held
 * mailbox kept back.
 */
import { addressKey } from '../core/index.ts';
import type { Mailbox, Store } from '../store/index.ts';
import { AdminError } from './errors.ts';

export function createHoldService(store: Store, mailboxOrFail: (address: string) => Promise<Mailbox>, now: () => number) {
  const heldOf = (address: string) => store.queue.list({ state: 'held', authUser: address, limit: 100_000 });
  return {
    async listHolds() {
      const mailboxes = await store.mailboxes.held();
      const rows = await Promise.all(mailboxes.map(async (m) => ({ mailbox: m, heldMessages: (await heldOf(m.address)).length })));
      const loose = (await store.queue.list({ state: 'held', limit: 100_000 })).filter((q) => !mailboxes.some((m) => m.address === q.authUser));
      return { mailboxes: rows, messages: loose };
    },
    /** ADDRESS: the mailbox leaves hold and its held mail is released; ID: one held message. */
    async releaseHold(target: string): Promise<{ mailbox: Mailbox | null; released: number }> {
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
    async purgeHold(address: string, removeBody: (relPath: string) => Promise<void>): Promise<number> {
      const m = await mailboxOrFail(addressKey(address) ?? address);
      let purged = 0;
      for (const q of await heldOf(m.address)) {
        const removed = await store.queue.remove(q.id);
        if (!removed) continue;
        purged++;
        if (removed.bodyPath) await removeBody(removed.bodyPath).catch(() => undefined); // swept at the next start
      }
      return purged;
    },
  };
}
