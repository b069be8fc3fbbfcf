/**
 * The store conformance suite's harness: the adapters it runs against, a fresh database per
 * test, and the fixtures every case shares. A case talks to the Store interface only; the
 * runner (suite.ts, one test file per adapter) runs each case once per adapter.
 *
 * POSTERN_STORE_ADAPTERS=sqlite (or postgres, or sqlite,postgres: the default) picks the adapters.
 * The PostgreSQL adapter is imported lazily, inside its factory: while it does not load (or the
 * server is unreachable) every postgres test fails with that error, it is never skipped.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createSqliteStore } from '../sqlite/index.ts';
import { StoreError, type Store } from '../types.ts';
import type { DeliveryJob, RecipientUpdate, NewMessage } from '../../core/index.ts';
import { makeSchema, type TestSchema } from '../../../test/helpers/pg.ts';

export type AdapterName = 'sqlite' | 'postgres';

/** One database of an adapter: every store opened on it shares its data (another node, a reopen). */
interface Database {
  open(now: () => number): Promise<Store>;
}

export interface Adapter {
  name: AdapterName;
  /** A new, empty database. */
  database(): Promise<Database>;
}

export interface Harness {
  adapter: AdapterName;
  /** A store on a fresh database, with a clock that ticks one millisecond per reading. */
  store: Store;
  /** Another store on the same database (another node; or the same one reopened). */
  open(): Promise<Store>;
  /** A store on another fresh database. */
  elsewhere(): Promise<Store>;
}

export interface Case {
  name: string;
  /** Runs on this adapter only (what the other cannot do, e.g. spool files). */
  only?: AdapterName;
  run(h: Harness): Promise<void>;
}

const dirs: string[] = [];
const schemas: TestSchema[] = [];

const sqlite: Adapter = {
  name: 'sqlite',
  async database() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'postern-conformance-'));
    dirs.push(dir);
    const file = path.join(dir, 'postern.db');
    return { open: async (now) => createSqliteStore({ path: file, now }) };
  },
};

let pgModule: Promise<typeof import('../postgres/index.ts')> | null = null;

const postgres: Adapter = {
  name: 'postgres',
  async database() {
    // imported here, not at the top: the suite (and its sqlite half) must load without it
    const { createPostgresStore } = await (pgModule ??= import('../postgres/index.ts'));
    const schema = await makeSchema('conf');
    schemas.push(schema);
    return { open: (now) => createPostgresStore({ url: schema.url, schema: schema.schema, now }) };
  },
};

const ALL: Adapter[] = [sqlite, postgres];

/** The adapters to run (POSTERN_STORE_ADAPTERS, comma separated; default: all). */
export function selectedAdapters(): Adapter[] {
  const want = (process.env.POSTERN_STORE_ADAPTERS ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (!want.length) return ALL;
  const unknown = want.filter((w) => !ALL.some((a) => a.name === w));
  if (unknown.length)
    throw new Error(`POSTERN_STORE_ADAPTERS: unknown adapter ${unknown.join(', ')} (known: ${ALL.map((a) => a.name).join(', ')})`);
  return ALL.filter((a) => want.includes(a.name));
}

export const T0 = 1_700_000_000_000;
export const HOUR = 3_600_000;
export const hourOf = (t: number): number => t - (t % HOUR);

/** A clock that ticks one millisecond per reading (distinct, increasing timestamps). */
export function ticking(start = T0): () => number {
  let t = start;
  return () => ++t;
}

/** Runs one case on a fresh database of the adapter; every store it opened is closed after. */
export async function runCase(a: Adapter, c: Case): Promise<void> {
  const opened: Store[] = [];
  const track = async (db: Database) => {
    const s = await db.open(ticking());
    let closing: Promise<void> | null = null;
    // closing twice (a case closes a store itself, then the harness) is harmless
    const once: Store = { ...s, close: () => (closing ??= s.close()) };
    opened.push(once);
    return once;
  };
  try {
    const db = await a.database();
    const store = await track(db);
    await c.run({ adapter: a.name, store, open: () => track(db), elsewhere: async () => track(await a.database()) });
  } finally {
    for (const s of opened) await s.close().catch(() => undefined);
  }
}

/** Removes every database the suite made (schemas, temporary directories). */
export async function cleanup(): Promise<void> {
  for (const s of schemas.splice(0)) await s.drop().catch(() => undefined);
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
}

/** Asserts that p fails with a StoreError of this kind (and a message matching `what`). */
export async function storeError(p: Promise<unknown>, kind: StoreError['kind'], what?: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof StoreError, `expected a StoreError, got ${String(err)}`);
    assert.equal(err.kind, kind);
    if (what) assert.match(err.message, what);
    return true;
  });
}

export const conflict = (p: Promise<unknown>, what: RegExp): Promise<void> => storeError(p, 'conflict', what);

/** Two customers, a domain each, and a mailbox of acme. */
export async function seed(store: Store) {
  const acme = await store.customers.add('acme');
  const other = await store.customers.add('other');
  const ex = await store.domains.add('example.com', acme.id);
  const oth = await store.domains.add('other.example', other.id);
  const alice = await store.mailboxes.add({ address: 'alice@example.com', domainId: ex.id, customerId: acme.id, passwordHash: 'h1' });
  return { acme, other, ex, oth, alice };
}

/** The body a test message carries (inline: the one form both adapters store). */
export const bodyOf = (id: string): Buffer => Buffer.from(`Subject: ${id}\r\n\r\nbody of ${id}\r\n`);

export function message(id: string, over: Partial<NewMessage> = {}): NewMessage {
  return {
    id,
    customerId: null,
    mailboxId: null,
    sender: 'alice@example.com',
    size: 123,
    bodyPath: null,
    body: bodyOf(id),
    messageIdHeader: `<${id}@mx.test>`,
    clientIp: '192.0.2.10',
    authUser: 'alice@example.com',
    listener: 'submission:587',
    dsnRet: null,
    dsnEnvid: null,
    createdAt: T0,
    recipients: [
      { address: 'bob@remote.test' },
      { address: 'carol@remote.test', notify: 'FAILURE,DELAY', orcpt: 'rfc822;carol@remote.test' },
    ],
    ...over,
  };
}

/** The result of an attempt at one recipient of a job (under the job's lease). */
export function result(
  job: DeliveryJob,
  idx: number,
  state: RecipientUpdate['state'],
  over: Partial<RecipientUpdate> = {},
): RecipientUpdate {
  return {
    messageId: job.message.id,
    idx,
    state,
    nextAttemptAt: 0,
    at: T0,
    reply: state === 'delivered' ? '250 2.0.0 ok' : state === 'deferred' ? '451 4.3.0 later' : '550 5.1.1 no such user',
    category: state === 'delivered' ? 'ok' : state,
    remoteHost: 'mx.remote.test',
    attempted: true,
    lease: job.lease,
    ...over,
  };
}

/** The job of a message (and domain) among claimed jobs. */
export function jobOf(jobs: DeliveryJob[], id: string, domain?: string): DeliveryJob {
  const j = jobs.find((x) => x.message.id === id && (domain === undefined || x.domain === domain));
  assert.ok(
    j,
    `no job for ${id}${domain ? ` at ${domain}` : ''} among ${jobs.map((x) => `${x.message.id}@${x.domain}`).join(', ') || 'none'}`,
  );
  return j;
}

/** The claimed recipients as message/idx keys, sorted. */
export const claimedKeys = (jobs: DeliveryJob[]): string[] =>
  jobs.flatMap((j) => j.recipients.map((r) => `${j.message.id}/${r.idx}`)).sort();

export const sorted = <T>(xs: T[]): T[] => [...xs].sort();
