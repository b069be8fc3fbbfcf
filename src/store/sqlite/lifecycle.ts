/**
 * The life of an account in SQLite: a customer's status, rename and removal, a domain's
 * removal and move. Each is one immediate transaction: all of it or nothing.
 */
import type { Db } from './db.ts';
import { StoreError, type GrantRef } from '../types.ts';
import type { CustomerStatus } from '../../core/index.ts';

type Row = Record<string, unknown>;

export interface SqliteLifecycle {
  setStatus(name: string, status: CustomerStatus, now: number): boolean;
  rename(name: string, to: string): boolean;
  removeCustomer(name: string): boolean;
  removeDomain(name: string): boolean;
  moveDomain(name: string, customerId: number, drop: GrantRef[]): boolean;
}

/** `value` is `@domain` or ends with it (an address of the domain); both are stored lower-case. */
const AT = (col: string) => `substr(${col}, -length(@at)) = @at`;

export function prepareLifecycle(db: Db): SqliteLifecycle {
  const domainByName = db.prepare('SELECT id, customer_id FROM domains WHERE name = ?');
  const customerByName = db.prepare('SELECT id FROM customers WHERE name = ?');

  const dropDomain = (d: { id: number; customer_id: number }, name: string) => {
    const p = { d: name, at: `@${name}`, id: d.id, customer: d.customer_id, tenant: `domain:${name}` };
    db.prepare(`DELETE FROM sender_grants WHERE (kind = 'domain' AND value = @d) OR (kind = 'address' AND ${AT('value')})`).run(p);
    db.prepare(`DELETE FROM site_grants WHERE (kind = 'domain' AND value = @d) OR (kind = 'address' AND ${AT('value')})`).run(p);
    for (const table of ['limits', 'limit_usage']) {
      db.prepare(`DELETE FROM ${table} WHERE (level = 'domain' AND target = @d) OR (level = 'mailbox' AND ${AT('target')})`).run(p);
    }
    db.prepare('DELETE FROM routes WHERE domain = @d').run(p);
    db.prepare(
      "DELETE FROM console_sessions WHERE via = 'mailbox' AND subject IN (SELECT address FROM mailboxes WHERE domain_id = @id)",
    ).run(p);
    db.prepare(`UPDATE tracked_messages SET removed_tenant = @tenant
      WHERE customer_id = @customer AND removed_tenant IS NULL AND auth_user IS NOT NULL AND ${AT('auth_user')}`).run(p);
    db.prepare('DELETE FROM mailboxes WHERE domain_id = @id').run(p); // grants, logins, activity cascade
    db.prepare('DELETE FROM domains WHERE id = @id').run(p); // DKIM keys cascade
  };

  const removeDomain = db.transaction((name: string) => {
    const d = domainByName.get(name) as { id: number; customer_id: number } | undefined;
    if (!d) return false;
    dropDomain(d, name);
    return true;
  });

  const removeCustomer = db.transaction((name: string) => {
    const c = customerByName.get(name) as { id: number } | undefined;
    if (!c) return false;
    const p = { id: c.id, name, tenant: `customer:${name}` };
    // its notices (null sender) go out as the server's own mail; anything else must be gone first
    db.prepare("UPDATE messages SET customer_id = NULL WHERE customer_id = @id AND sender = ''").run(p);
    const left = db.prepare('SELECT COUNT(*) FROM messages WHERE customer_id = @id').pluck().get(p) as number;
    if (left) throw new StoreError('conflict', `customer ${name} still has ${left} queued message(s)`);
    for (const d of db.prepare('SELECT id, customer_id, name FROM domains WHERE customer_id = @id').all(p) as (Row & {
      id: number;
      customer_id: number;
      name: string;
    })[]) {
      dropDomain(d, d.name);
    }
    for (const table of ['limits', 'limit_usage']) {
      db.prepare(`DELETE FROM ${table} WHERE (level = 'customer' AND target = @name)
        OR (level = 'site' AND target IN (SELECT name FROM sites WHERE customer_id = @id))`).run(p);
    }
    db.prepare('DELETE FROM sites WHERE customer_id = @id').run(p); // grants and hours cascade
    db.prepare('UPDATE tracked_messages SET customer_id = NULL, removed_tenant = @tenant WHERE customer_id = @id').run(p);
    db.prepare('DELETE FROM customers WHERE id = @id').run(p); // webhooks, tokens, suppressions, sessions cascade
    return true;
  });

  const rename = db.transaction((name: string, to: string) => {
    try {
      if (!db.prepare('UPDATE customers SET name = ? WHERE name = ?').run(to, name).changes) return false;
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') throw new StoreError('conflict', `customer ${to} already exists`);
      throw err;
    }
    for (const table of ['limits', 'limit_usage'])
      db.prepare(`UPDATE ${table} SET target = ? WHERE level = 'customer' AND target = ?`).run(to, name);
    return true;
  });

  const moveDomain = db.transaction((name: string, customerId: number, drop: GrantRef[]) => {
    const d = domainByName.get(name) as { id: number } | undefined;
    if (!d) return false;
    for (const g of drop) {
      const table = g.holder === 'mailbox' ? 'sender_grants' : 'site_grants';
      const holder = g.holder === 'mailbox' ? 'mailbox_id' : 'site_id';
      db.prepare(`DELETE FROM ${table} WHERE ${holder} = ? AND kind = ? AND value = ?`).run(g.id, g.kind, g.value);
    }
    db.prepare("DELETE FROM console_sessions WHERE via = 'mailbox' AND subject IN (SELECT address FROM mailboxes WHERE domain_id = ?)").run(
      d.id,
    );
    db.prepare('UPDATE domains SET customer_id = ? WHERE id = ?').run(customerId, d.id);
    db.prepare('UPDATE mailboxes SET customer_id = ?, credential_version = credential_version + 1 WHERE domain_id = ?').run(
      customerId,
      d.id,
    );
    return true;
  });

  return {
    // suspendedAt: when it first left active (suspended, then being removed: the same time)
    setStatus: (name, status, now) =>
      db
        .prepare(
          `UPDATE customers SET suspended_at = CASE WHEN @status = 'active' THEN NULL WHEN status = 'active' THEN @now ELSE suspended_at END,
         status = @status WHERE name = @name`,
        )
        .run({ status, now, name }).changes > 0,
    rename: (name, to) => rename.immediate(name, to),
    removeCustomer: (name) => removeCustomer.immediate(name),
    removeDomain: (name) => removeDomain.immediate(name),
    moveDomain: (name, customerId, drop) => moveDomain.immediate(name, customerId, drop),
  };
}
