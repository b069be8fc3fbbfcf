/**
 * A mailbox put on hold for real, for the console's tests: with containment.maxDomainsPerHour
 * at 3 (see HOLD_AFTER_3_DOMAINS), the mailbox sends to one new domain per message until
 * containment holds it, then one more message, which waits in the hold queue.
 */
import type { TestServer } from './server.ts';
import { submitAs } from './server.ts';

export const HOLD_AFTER_3_DOMAINS = { maxDomainsPerHour: 3, minRecipientsPerHour: 1000, maxNetworksPerHour: 10 };

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  const end = Date.now() + 5000;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Puts `user` on hold; returns the id of a message it sent afterwards (held). */
export async function holdMailbox(s: TestServer, user: string, pass: string): Promise<string> {
  for (let i = 0; i < 4; i++) {
    const r = await submitAs(s, { user, pass, to: [`victim${i}@d${i}.test`], text: 'buy now' });
    if (!/^250 /.test(r)) throw new Error(`not accepted: ${r}`);
  }
  await until(async () => (await s.server.store.mailboxes.get(user))!.heldSince !== null, 'the hold');
  const r = await submitAs(s, { user, pass, to: ['victim9@d9.test'], text: 'buy now' });
  const id = /queued as (\S+)/.exec(r)?.[1];
  if (!id || (await s.server.store.queue.get(id))?.state !== 'held') throw new Error(`the message after the hold is not held: ${r}`);
  return id;
}
