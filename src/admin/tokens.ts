/**
 * Tokens of the admin HTTP API, for the admin service: an operator token (every customer) or
 * a customer token (that customer only). A token is "pat_" + 256 random bits (base64url),
 * returned once when made; only its SHA-256 is stored (256 bits cannot be brute-forced, and a
 * lookup stays one indexed query). Revoked tokens stay listed and keep their name.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Store } from '../store/index.ts';
import type { ApiToken, Customer } from '../core/index.ts';
import { StoreError } from '../store/index.ts';
import { AdminError, missing, type TenantScope } from './errors.ts';
import { audit, read, unaudited, TOKEN, type Declarations } from './audit.ts';

export const API_TOKEN_PREFIX = 'pat_';
const SHAPE = /^pat_[A-Za-z0-9_-]{43}$/;
const TOKEN_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/i;
/** The last use is written at most this often per token. */
export const TOUCH_INTERVAL_MS = 60_000;

export const newApiToken = (): string => API_TOKEN_PREFIX + randomBytes(32).toString('base64url');
export const isApiToken = (s: string): boolean => SHAPE.test(s);
export const apiTokenHash = (token: string): string => createHash('sha256').update(token, 'utf8').digest('hex');

/** What a token may see: nothing more than its customer (a customer token), or everything. */
export const scopeOf = (t: ApiToken): TenantScope | undefined =>
  t.customerId === null ? undefined : { customerId: t.customerId, customerName: t.customerName ?? '' };

export function createTokenService(store: Store, customerOrFail: (name: string) => Promise<Customer>, now: () => number) {
  return {
    /** Makes a token; returns it (shown once) with its record. */
    async addToken(name: string, o: { operator?: boolean; customer?: string }): Promise<{ token: string; record: ApiToken }> {
      if (!TOKEN_NAME.test(name))
        throw new AdminError(`invalid token name "${name}": use letters, digits, dot, dash and underscore (at most 63)`);
      if (Boolean(o.operator) === (o.customer !== undefined)) throw new AdminError('give either --operator or --customer NAME');
      const customerId = o.customer === undefined ? null : (await customerOrFail(o.customer)).id;
      const token = newApiToken();
      const record = await store.apiTokens.add({ name, customerId, tokenHash: apiTokenHash(token) }).catch((err: Error) => {
        throw err instanceof StoreError && err.kind === 'conflict' ? new AdminError(err.message, 'conflict') : err;
      });
      return { token, record };
    },
    listTokens: (): Promise<ApiToken[]> => store.apiTokens.list(),
    async revokeToken(name: string): Promise<ApiToken> {
      const t = await store.apiTokens.get(name);
      if (!t) throw missing(`no token named ${name}`);
      if (!(await store.apiTokens.revoke(name, now()))) throw new AdminError(`token ${name} is already revoked`, 'conflict');
      await store.consoleSessions.removeSubject('token', name); // its console sessions end with it
      return (await store.apiTokens.get(name))!;
    },
    /** The live token a Bearer value names, or null (unknown, malformed or revoked); stamps its use. */
    async authenticateToken(value: string): Promise<ApiToken | null> {
      if (!isApiToken(value)) return null;
      const t = await store.apiTokens.byHash(apiTokenHash(value));
      if (!t || t.revokedAt !== null) return null;
      await store.apiTokens.touch(t.id, now(), TOUCH_INTERVAL_MS);
      return t;
    },
  };
}

/** What the audit trail records of each API token operation (never a token). */
export const tokenOperations = {
  addToken: audit('addToken', TOKEN),
  listTokens: read,
  revokeToken: audit('revokeToken', TOKEN),
  authenticateToken: unaudited('a login: it only stamps when the token was last used'),
} satisfies Declarations<ReturnType<typeof createTokenService>>;
