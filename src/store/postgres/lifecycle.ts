/**
 * The life of an account in PostgreSQL: a customer's status, rename and removal, a domain's
 * removal and move. Each is one transaction (all of it or nothing), announced to every node.
 */
import { tx, type Client, type Pool } from './db.ts';
import type { RepoDeps } from './deps.ts';
import { StoreError, type ChangeTopic, type GrantRef } from '../types.ts';
import type { CustomerStatus } from '../../core/index.ts';

/** `$n` is `@domain`: the column ends with it (an address of the domain); both are lower-case. */
const AT = (col: string, n: number) => `right(${col}, length($${n})) = $${n}`;

const EVERYTHING: ChangeTopic[] = ['mailboxes', 'sites', 'dkim', 'routes', 'limits'];

async function dropDomain(c: Client, d: { id: number; customer_id: number; name: string }): Promise<void> {
  const at = `@${d.name}`;
  await c.query(`DELETE FROM sender_grants WHERE (kind = 'domain' AND value = $1) OR (kind = 'address' AND ${AT('value', 2)})`, [
    d.name,
    at,
  ]);
  await c.query(`DELETE FROM site_grants WHERE (kind = 'domain' AND value = $1) OR (kind = 'address' AND ${AT('value', 2)})`, [d.name, at]);
  for (const table of ['limits', 'limit_usage']) {
    await c.query(`DELETE FROM ${table} WHERE (level = 'domain' AND target = $1) OR (level = 'mailbox' AND ${AT('target', 2)})`, [
      d.name,
      at,
    ]);
  }
  await c.query('DELETE FROM routes WHERE domain = $1', [d.name]);
  await c.query("DELETE FROM console_sessions WHERE via = 'mailbox' AND subject IN (SELECT address FROM mailboxes WHERE domain_id = $1)", [
    d.id,
  ]);
  await c.query(
    `UPDATE tracked_messages SET removed_tenant = $3
    WHERE customer_id = $1 AND removed_tenant IS NULL AND auth_user IS NOT NULL AND ${AT('auth_user', 2)}`,
    [d.customer_id, at, `domain:${d.name}`],
  );
  await c.query('DELETE FROM mailboxes WHERE domain_id = $1', [d.id]); // grants, logins, activity cascade
  await c.query('DELETE FROM domains WHERE id = $1', [d.id]); // DKIM keys cascade
}

export function createLifecycle(pool: Pool, deps: RepoDeps) {
  const announce = (topics: ChangeTopic[]) => {
    for (const t of topics) deps.changed(t);
  };
  const domainOf = async (c: Client, name: string) =>
    (
      await c.query<{ id: number; customer_id: number; name: string }>(
        'SELECT id, customer_id, name FROM domains WHERE name = $1 FOR UPDATE',
        [name],
      )
    ).rows[0];

  return {
    async setStatus(name: string, status: CustomerStatus, now: number): Promise<boolean> {
      // suspendedAt: when it first left active (suspended, then being removed: the same time)
      const r = await pool.query(
        `UPDATE customers SET suspended_at = CASE WHEN $1 = 'active' THEN NULL WHEN status = 'active' THEN $2::bigint ELSE suspended_at END,
           status = $1 WHERE name = $3`,
        [status, now, name],
      );
      if (!r.rowCount) return false;
      announce(['mailboxes', 'sites']);
      return true;
    },
    async rename(name: string, to: string): Promise<boolean> {
      const done = await tx(pool, async (c) => {
        try {
          if (!(await c.query('UPDATE customers SET name = $1 WHERE name = $2', [to, name])).rowCount) return false;
        } catch (err) {
          if ((err as { code?: string }).code === '23505') throw new StoreError('conflict', `customer ${to} already exists`);
          throw err;
        }
        for (const table of ['limits', 'limit_usage'])
          await c.query(`UPDATE ${table} SET target = $1 WHERE level = 'customer' AND target = $2`, [to, name]);
        return true;
      });
      if (done) announce(['mailboxes', 'sites', 'limits']);
      return done;
    },
    async removeDomain(name: string): Promise<boolean> {
      const done = await tx(pool, async (c) => {
        const d = await domainOf(c, name);
        if (!d) return false;
        await dropDomain(c, d);
        return true;
      });
      if (done) announce(EVERYTHING);
      return done;
    },
    async removeCustomer(name: string): Promise<boolean> {
      const done = await tx(pool, async (c) => {
        const row = (await c.query<{ id: number }>('SELECT id FROM customers WHERE name = $1 FOR UPDATE', [name])).rows[0];
        if (!row) return false;
        const id = row.id;
        // its notices (null sender) go out as the server's own mail; anything else must be gone first
        await c.query("UPDATE messages SET customer_id = NULL WHERE customer_id = $1 AND sender = ''", [id]);
        const left = Number((await c.query('SELECT COUNT(*) AS n FROM messages WHERE customer_id = $1', [id])).rows[0].n);
        if (left) throw new StoreError('conflict', `customer ${name} still has ${left} queued message(s)`);
        const domains = (
          await c.query<{ id: number; customer_id: number; name: string }>(
            'SELECT id, customer_id, name FROM domains WHERE customer_id = $1',
            [id],
          )
        ).rows;
        for (const d of domains) await dropDomain(c, d);
        for (const table of ['limits', 'limit_usage']) {
          await c.query(
            `DELETE FROM ${table} WHERE (level = 'customer' AND target = $1)
            OR (level = 'site' AND target IN (SELECT name FROM sites WHERE customer_id = $2))`,
            [name, id],
          );
        }
        await c.query('DELETE FROM sites WHERE customer_id = $1', [id]); // grants and hours cascade
        await c.query('UPDATE tracked_messages SET customer_id = NULL, removed_tenant = $2 WHERE customer_id = $1', [
          id,
          `customer:${name}`,
        ]);
        await c.query('DELETE FROM customers WHERE id = $1', [id]); // webhooks, tokens, suppressions, sessions cascade
        return true;
      });
      if (done) announce(EVERYTHING);
      return done;
    },
    async moveDomain(name: string, customerId: number, drop: GrantRef[]): Promise<boolean> {
      const done = await tx(pool, async (c) => {
        const d = await domainOf(c, name);
        if (!d) return false;
        for (const g of drop) {
          const [table, holder] = g.holder === 'mailbox' ? ['sender_grants', 'mailbox_id'] : ['site_grants', 'site_id'];
          await c.query(`DELETE FROM ${table} WHERE ${holder} = $1 AND kind = $2 AND value = $3`, [g.id, g.kind, g.value]);
        }
        await c.query(
          "DELETE FROM console_sessions WHERE via = 'mailbox' AND subject IN (SELECT address FROM mailboxes WHERE domain_id = $1)",
          [d.id],
        );
        await c.query('UPDATE domains SET customer_id = $1 WHERE id = $2', [customerId, d.id]);
        await c.query('UPDATE mailboxes SET customer_id = $1, credential_version = credential_version + 1 WHERE domain_id = $2', [
          customerId,
          d.id,
        ]);
        return true;
      });
      if (done) announce(['mailboxes', 'sites']);
      return done;
    },
  };
}
