/**
 * Bans (operators only): the client addresses banned for failed logins (SMTP AUTH, the send
 * API, the console's sign-in) with why and until when, each with Unban; and unlocking a
 * mailbox locked by failed logins. The store keeps a mailbox's lock on its login state and
 * has no cheap list of locked mailboxes, so they are unlocked by address here (a mailbox's
 * page shows its lock) rather than listed.
 */
import type { ConsoleApp, ConsoleDeps } from '../context.ts';
import { act, field } from '../actions.ts';
import { only } from '../guard.ts';
import { BASE, csrfField, html, page, postButton, table, time } from '../html.ts';

const BACK = `${BASE}/bans`;

export function mountBans(app: ConsoleApp, deps: ConsoleDeps): void {
  app.get('/bans', only('operator'), async (c) => {
    const bans = await c.get('svc').listBans();
    const now = deps.clock.now();
    const rows = bans.map((b, i) => [
      html`<span id="ban-${i}" class="mono">${b.ip}</span>`,
      b.reason,
      b.failures,
      time(b.createdAt),
      html`${time(b.bannedUntil)} <span class="muted">(in ${Math.max(1, Math.ceil((b.bannedUntil - now) / 60_000))} min)</span>`,
      postButton(c, `${BASE}/bans/unban`, 'Unban', { fields: { ip: b.ip }, describedBy: `ban-${i}` }),
    ]);
    return page(c, {
      title: 'Bans',
      body: html`<p>A client address that fails to log in too often (SMTP, the send API, this console) is banned for a while: it can neither log in nor connect. Unban an address when a customer's office was locked out by a misconfigured program.</p>
<h2>Banned client addresses</h2>
<p class="muted">Prometheus: <code>postern_bans_active</code> (banned now), <code>postern_auth_bans_total</code> (bans made).</p>
${table('Client addresses banned now', ['Address', 'Why', 'Failed logins', 'Banned at', 'Until', 'Action'], rows, 'No client address is banned.')}
<h2>Locked mailboxes</h2>
<p>A mailbox whose password was guessed wrong too often is locked for a while. Locked mailboxes are not listed here: the store keeps each lock with the mailbox's login state and cannot list them cheaply (a mailbox's page shows its lock). Unlock one by its address:</p>
<form method="post" action="${BASE}/bans/unlock">${csrfField(c.get('session'))}
<label for="unlock-address">Mailbox address</label><input id="unlock-address" name="address" type="email" required>
<button type="submit">Unlock</button></form>`,
    });
  });
  app.post('/bans/unban', only('operator'), (c) =>
    act(c, BACK, async () => {
      const ip = field(c, 'ip');
      await c.get('svc').removeBan(ip);
      return `${ip} is no longer banned.`;
    }),
  );
  app.post('/bans/unlock', only('operator'), (c) =>
    act(c, BACK, async () => {
      const r = await c.get('svc').unlock(field(c, 'address'));
      return r.wasLocked ? `${r.mailbox.address} is unlocked.` : `${r.mailbox.address} was not locked.`;
    }),
  );
}
