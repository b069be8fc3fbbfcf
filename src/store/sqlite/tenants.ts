/** Customers, domains and mailboxes in SQLite. */
import type { Db } from './db.ts';
import { StoreError, type CustomerRepo, type DomainRepo, type MailboxRepo } from '../types.ts';
import { prepareLifecycle } from './lifecycle.ts';
import { CUSTOMER_OF, toCustomer, toDomain, toMailbox, type Row } from '../rows.ts';

function isUnique(err: unknown): boolean {
  return (err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE';
}

export function createCustomerRepo(db: Db, now: () => number): CustomerRepo {
  const byName = db.prepare('SELECT * FROM customers WHERE name = ?');
  const life = prepareLifecycle(db);
  const get = (name: string) => {
    const r = byName.get(name) as Row | undefined;
    return r ? toCustomer(r) : null;
  };
  return {
    async add(name, contact = null) {
      try {
        const t = now();
        db.prepare('INSERT INTO customers (name, contact, created_at) VALUES (?, ?, ?)').run(name, contact, t);
        return get(name)!;
      } catch (err) {
        if (isUnique(err)) throw new StoreError('conflict', `customer ${name} already exists`);
        throw err;
      }
    },
    async get(name) {
      const r = byName.get(name) as Row | undefined;
      return r ? toCustomer(r) : null;
    },
    async setContact(name, contact) {
      db.prepare('UPDATE customers SET contact = ? WHERE name = ?').run(contact, name);
      const r = byName.get(name) as Row | undefined;
      return r ? toCustomer(r) : null;
    },
    async list() {
      return (db.prepare('SELECT * FROM customers ORDER BY name').all() as Row[]).map(toCustomer);
    },
    setStatus: async (name, status, t) => (life.setStatus(name, status, t) ? get(name) : null),
    rename: async (name, to) => (life.rename(name, to) ? get(to) : null),
    remove: async (name) => life.removeCustomer(name),
  };
}

const DOMAIN_SELECT = 'SELECT d.*, c.name AS customer_name FROM domains d JOIN customers c ON c.id = d.customer_id';

export function createDomainRepo(db: Db, now: () => number): DomainRepo {
  const byName = db.prepare(`${DOMAIN_SELECT} WHERE d.name = ?`);
  const life = prepareLifecycle(db);
  return {
    async add(name, customerId) {
      try {
        db.prepare('INSERT INTO domains (name, customer_id, created_at) VALUES (?, ?, ?)').run(name, customerId, now());
      } catch (err) {
        if (isUnique(err)) throw new StoreError('conflict', `domain ${name} already exists`);
        throw err;
      }
      return toDomain(byName.get(name) as Row);
    },
    async get(name) {
      const r = byName.get(name) as Row | undefined;
      return r ? toDomain(r) : null;
    },
    async list(customerName) {
      const rows = customerName
        ? db.prepare(`${DOMAIN_SELECT} WHERE c.name = ? ORDER BY d.name`).all(customerName)
        : db.prepare(`${DOMAIN_SELECT} ORDER BY d.name`).all();
      return (rows as Row[]).map(toDomain);
    },
    remove: async (name) => life.removeDomain(name),
    async move(name, customerId, drop) {
      if (!life.moveDomain(name, customerId, drop)) return null;
      return toDomain(byName.get(name) as Row);
    },
  };
}

const MAILBOX_SELECT = `SELECT m.*, ${CUSTOMER_OF} FROM mailboxes m JOIN customers c ON c.id = m.customer_id`;

export function createMailboxRepo(db: Db, now: () => number): MailboxRepo {
  const byAddress = db.prepare(`${MAILBOX_SELECT} WHERE m.address = ?`);
  const get = (address: string) => {
    const r = byAddress.get(address) as Row | undefined;
    return r ? toMailbox(r) : null;
  };
  return {
    async add({ address, domainId, customerId, passwordHash, source = 'postern', importedHash = null }) {
      try {
        const t = now();
        db.prepare(
          'INSERT INTO mailboxes (address, domain_id, customer_id, password_hash, source, imported_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
        ).run(address, domainId, customerId, passwordHash, source, importedHash, t, t);
      } catch (err) {
        if (isUnique(err)) throw new StoreError('conflict', `mailbox ${address} already exists`);
        throw err;
      }
      return get(address)!;
    },
    async get(address) {
      return get(address);
    },
    async list(filter = {}) {
      const where: string[] = [];
      const args: unknown[] = [];
      if (filter.customerName) {
        where.push('c.name = ?');
        args.push(filter.customerName);
      }
      if (filter.domain) {
        where.push('m.domain_id = (SELECT id FROM domains WHERE name = ?)');
        args.push(filter.domain);
      }
      const sql = `${MAILBOX_SELECT}${where.length ? ' WHERE ' + where.join(' AND ') : ''} ORDER BY m.address`;
      return (db.prepare(sql).all(...args) as Row[]).map(toMailbox);
    },
    async setPassword(address, passwordHash) {
      db.prepare(
        'UPDATE mailboxes SET password_hash = ?, credential_version = credential_version + 1, updated_at = ? WHERE address = ?',
      ).run(passwordHash, now(), address);
      return get(address);
    },
    async importHash(address, hash) {
      db.prepare(
        'UPDATE mailboxes SET password_hash = ?, imported_hash = ?, credential_version = credential_version + 1, updated_at = ? WHERE address = ?',
      ).run(hash, hash, now(), address);
      return get(address);
    },
    async rehash(id, expected, next) {
      return db.prepare('UPDATE mailboxes SET password_hash = ? WHERE id = ? AND password_hash = ?').run(next, id, expected).changes > 0;
    },
    async setAppPasswordsOnly(address, on) {
      db.prepare(
        'UPDATE mailboxes SET app_passwords_only = ?, credential_version = credential_version + 1, updated_at = ? WHERE address = ? AND app_passwords_only <> ?',
      ).run(on ? 1 : 0, now(), address, on ? 1 : 0);
      return get(address);
    },
    async setStatus(address, status) {
      db.prepare(
        'UPDATE mailboxes SET status = ?, credential_version = credential_version + 1, updated_at = ? WHERE address = ? AND status <> ?',
      ).run(status, now(), address, status);
      return get(address);
    },
    async remove(address) {
      return db.prepare('DELETE FROM mailboxes WHERE address = ?').run(address).changes > 0;
    },
    async hold(id, reason, t) {
      return (
        db.prepare('UPDATE mailboxes SET held_since = ?, hold_reason = ? WHERE id = ? AND held_since IS NULL').run(t, reason, id).changes >
        0
      );
    },
    async unhold(id, t) {
      return (
        db
          .prepare('UPDATE mailboxes SET held_since = NULL, hold_reason = NULL, released_at = ? WHERE id = ? AND held_since IS NOT NULL')
          .run(t, id).changes > 0
      );
    },
    async held() {
      return (db.prepare(`${MAILBOX_SELECT} WHERE m.held_since IS NOT NULL ORDER BY m.held_since`).all() as Row[]).map(toMailbox);
    },
  };
}
