/** Customers, domains and mailboxes in PostgreSQL. */
import type { Pool } from './db.ts';
import type { RepoDeps } from './deps.ts';
import { StoreError, type CustomerRepo, type DomainRepo, type MailboxRepo } from '../types.ts';
import { createLifecycle } from './lifecycle.ts';
import { CUSTOMER_OF, toCustomer, toDomain, toMailbox, type Row } from '../rows.ts';

const isUnique = (err: unknown) => (err as { code?: string }).code === '23505';

/** Runs an insert; a unique violation becomes a StoreError conflict with `message`. */
async function insert(pool: Pool, sql: string, args: unknown[], message: string): Promise<Row> {
  try {
    return (await pool.query<Row>(sql, args)).rows[0];
  } catch (err) {
    if (isUnique(err)) throw new StoreError('conflict', message);
    throw err;
  }
}

export function createCustomerRepo(pool: Pool, deps: RepoDeps): CustomerRepo {
  const one = async (sql: string, args: unknown[]) => {
    const r = (await pool.query<Row>(sql, args)).rows[0];
    return r ? toCustomer(r) : null;
  };
  const life = createLifecycle(pool, deps);
  const get = (name: string) => one('SELECT * FROM customers WHERE name = $1', [name]);
  return {
    async add(name, contact = null) {
      const sql = 'INSERT INTO customers (name, contact, created_at) VALUES ($1, $2, $3) RETURNING *';
      return toCustomer(await insert(pool, sql, [name, contact, deps.now()], `customer ${name} already exists`));
    },
    async get(name) {
      return one('SELECT * FROM customers WHERE name = $1', [name]);
    },
    async setContact(name, contact) {
      return one('UPDATE customers SET contact = $1 WHERE name = $2 RETURNING *', [contact, name]);
    },
    async list() {
      // COLLATE "C": byte order, as SQLite sorts, whatever the database's collation
      return (await pool.query<Row>('SELECT * FROM customers ORDER BY name COLLATE "C"')).rows.map(toCustomer);
    },
    setStatus: async (name, status, t) => ((await life.setStatus(name, status, t)) ? get(name) : null),
    rename: async (name, to) => ((await life.rename(name, to)) ? get(to) : null),
    remove: (name) => life.removeCustomer(name),
  };
}

const DOMAIN_SELECT = 'SELECT d.*, c.name AS customer_name FROM domains d JOIN customers c ON c.id = d.customer_id';

export function createDomainRepo(pool: Pool, deps: RepoDeps): DomainRepo {
  const life = createLifecycle(pool, deps);
  const get = async (name: string) => {
    const r = (await pool.query<Row>(`${DOMAIN_SELECT} WHERE d.name = $1`, [name])).rows[0];
    return r ? toDomain(r) : null;
  };
  return {
    async add(name, customerId) {
      const sql = `WITH d AS (INSERT INTO domains (name, customer_id, created_at) VALUES ($1, $2, $3) RETURNING *)
        SELECT d.*, c.name AS customer_name FROM d JOIN customers c ON c.id = d.customer_id`;
      return toDomain(await insert(pool, sql, [name, customerId, deps.now()], `domain ${name} already exists`));
    },
    async get(name) {
      const r = (await pool.query<Row>(`${DOMAIN_SELECT} WHERE d.name = $1`, [name])).rows[0];
      return r ? toDomain(r) : null;
    },
    async list(customerName) {
      const { rows } = customerName
        ? await pool.query<Row>(`${DOMAIN_SELECT} WHERE c.name = $1 ORDER BY d.name COLLATE "C"`, [customerName])
        : await pool.query<Row>(`${DOMAIN_SELECT} ORDER BY d.name COLLATE "C"`);
      return rows.map(toDomain);
    },
    remove: (name) => life.removeDomain(name),
    move: async (name, customerId, drop) => ((await life.moveDomain(name, customerId, drop)) ? get(name) : null),
  };
}

const MAILBOX_SELECT = `SELECT m.*, ${CUSTOMER_OF} FROM mailboxes m JOIN customers c ON c.id = m.customer_id`;

export function createMailboxRepo(pool: Pool, deps: RepoDeps): MailboxRepo {
  const get = async (address: string) => {
    const r = (await pool.query<Row>(`${MAILBOX_SELECT} WHERE m.address = $1`, [address])).rows[0];
    return r ? toMailbox(r) : null;
  };
  /** Runs an update; announces it when it changed a row. */
  const change = async (sql: string, args: unknown[]): Promise<boolean> => {
    const changed = ((await pool.query(sql, args)).rowCount ?? 0) > 0;
    if (changed) deps.changed('mailboxes');
    return changed;
  };
  return {
    async add({ address, domainId, customerId, passwordHash, source = 'postern', importedHash = null }) {
      const t = deps.now();
      const sql = `WITH m AS (
          INSERT INTO mailboxes (address, domain_id, customer_id, password_hash, source, imported_hash, created_at, updated_at)
          VALUES ($1, $2, $3, $4, $6, $7, $5, $5) RETURNING *)
        SELECT m.*, ${CUSTOMER_OF} FROM m JOIN customers c ON c.id = m.customer_id`;
      const m = toMailbox(
        await insert(
          pool,
          sql,
          [address, domainId, customerId, passwordHash, t, source, importedHash],
          `mailbox ${address} already exists`,
        ),
      );
      deps.changed('mailboxes');
      return m;
    },
    get,
    async list(filter = {}) {
      const where: string[] = [];
      const args: unknown[] = [];
      if (filter.customerName) {
        args.push(filter.customerName);
        where.push(`c.name = $${args.length}`);
      }
      if (filter.domain) {
        args.push(filter.domain);
        where.push(`m.domain_id = (SELECT id FROM domains WHERE name = $${args.length})`);
      }
      const sql = `${MAILBOX_SELECT}${where.length ? ' WHERE ' + where.join(' AND ') : ''} ORDER BY m.address COLLATE "C"`;
      return (await pool.query<Row>(sql, args)).rows.map(toMailbox);
    },
    async setPassword(address, passwordHash) {
      await change(
        'UPDATE mailboxes SET password_hash = $1, credential_version = credential_version + 1, updated_at = $2 WHERE address = $3',
        [passwordHash, deps.now(), address],
      );
      return get(address);
    },
    async importHash(address, hash) {
      await change(
        'UPDATE mailboxes SET password_hash = $1, imported_hash = $1, credential_version = credential_version + 1, updated_at = $2 WHERE address = $3',
        [hash, deps.now(), address],
      );
      return get(address);
    },
    async rehash(id, expected, next) {
      // the same password: other nodes' caches stay right, nothing to announce
      return (
        ((await pool.query('UPDATE mailboxes SET password_hash = $1 WHERE id = $2 AND password_hash = $3', [next, id, expected]))
          .rowCount ?? 0) > 0
      );
    },
    async setAppPasswordsOnly(address, on) {
      await change(
        'UPDATE mailboxes SET app_passwords_only = $1, credential_version = credential_version + 1, updated_at = $2 WHERE address = $3 AND app_passwords_only <> $1',
        [on, deps.now(), address],
      );
      return get(address);
    },
    async setStatus(address, status) {
      // a no-op change (suspending a suspended mailbox) bumps nothing
      await change(
        'UPDATE mailboxes SET status = $1, credential_version = credential_version + 1, updated_at = $2 WHERE address = $3 AND status <> $1',
        [status, deps.now(), address],
      );
      return get(address);
    },
    async remove(address) {
      return change('DELETE FROM mailboxes WHERE address = $1', [address]);
    },
    async hold(id, reason, t) {
      return change('UPDATE mailboxes SET held_since = $1, hold_reason = $2 WHERE id = $3 AND held_since IS NULL', [t, reason, id]);
    },
    async unhold(id, t) {
      return change(
        'UPDATE mailboxes SET held_since = NULL, hold_reason = NULL, released_at = $1 WHERE id = $2 AND held_since IS NOT NULL',
        [t, id],
      );
    },
    async held() {
      return (await pool.query<Row>(`${MAILBOX_SELECT} WHERE m.held_since IS NOT NULL ORDER BY m.held_since, m.id`)).rows.map(toMailbox);
    },
  };
}
