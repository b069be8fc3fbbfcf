/**
 * Which failed logins count toward banning a client address: those that look like spraying.
 * A failure for an unknown login always counts; a failure for an existing mailbox counts once
 * the address has failed for `accounts` different mailboxes within the window. One user
 * mistyping their own password (or an attacker on one account, which the account lock stops)
 * never bans the address that neighbours share. Kept in memory, bounded; each process counts
 * its own (the ban itself is in the store, shared).
 */
export interface SprayTracker {
  /** Records a failure of `mailboxId` from `ip`; true when it counts toward a ban. */
  counts(ip: string, mailboxId: number | null, now: number): boolean;
}

const MAX_ADDRESSES = 50_000;

export function createSprayTracker(o: { accounts: number; windowMs: number }): SprayTracker {
  const seen = new Map<string, { start: number; mailboxes: Set<number> }>();
  return {
    counts(ip, mailboxId, now) {
      if (mailboxId === null) return true;
      let e = seen.get(ip);
      if (!e || now - e.start >= o.windowMs) {
        seen.delete(ip);
        e = { start: now, mailboxes: new Set() };
        if (seen.size >= MAX_ADDRESSES) seen.delete(seen.keys().next().value!);
        seen.set(ip, e);
      }
      e.mailboxes.add(mailboxId);
      return e.mailboxes.size >= o.accounts;
    },
  };
}
