/**
 * Staged key rotation. A new key is `pending` (its record is to be published); activating it
 * (once DNS shows the record, or forced) makes it `active` and the key it replaces `retiring`:
 * the retiring key's record must stay published for `retireDays`, because mail signed with it
 * may still be in transit, after which it is `retired`. `tick` does the timed steps: retire,
 * activate published pending keys (autoActivate), and start a rotation when the active key is
 * `rotateDays` old. Each algorithm (RSA, Ed25519) rotates on its own.
 */
import type { Logger } from 'pino';
import type { DkimKey, Domain, Store } from '../store/index.ts';
import type { SecretBox } from '../credentials/index.ts';
import { generateDkimKey, newSelector } from './keys.ts';
import { dkimRecordName, dkimRecordValue, publishedKey, type DkimAlgorithm } from './records.ts';
import type { DnsLookup } from './dns.ts';

export interface DkimPolicy { ed25519: boolean; rsaBits: number; retireDays: number; rotateDays: number; autoActivate: boolean }

export interface DkimServiceDeps {
  store: Store;
  secrets: () => SecretBox;
  now: () => number;
  lookup: () => DnsLookup;
  policy: DkimPolicy;
  logger?: Logger;
}

/** A refusal the operator can act on (the CLI prints its message). */
export class DkimError extends Error {}

const DAY = 86_400_000;

export function createDkimService(deps: DkimServiceDeps) {
  const algorithms = (): DkimAlgorithm[] => (deps.policy.ed25519 ? ['rsa-sha256', 'ed25519-sha256'] : ['rsa-sha256']);

  async function domainOrFail(name: string): Promise<Domain> {
    const d = await deps.store.domains.get(name);
    if (!d) throw new DkimError(`no hosted domain ${name}`);
    return d;
  }

  async function makeKey(d: Domain, algorithm: DkimAlgorithm, taken: string[]): Promise<DkimKey> {
    const pair = generateDkimKey(algorithm, deps.policy.rsaBits);
    const selector = newSelector(algorithm, deps.now(), taken);
    taken.push(selector);
    return deps.store.dkim.add({ domainId: d.id, selector, algorithm, privateKey: deps.secrets().seal(pair.privateKeyPem), publicKey: pair.publicKey, state: 'pending' });
  }

  /** Is the key's record published (as this key)? Throws DkimError when DNS cannot tell. */
  async function published(k: DkimKey): Promise<boolean> {
    let answers: unknown[];
    try {
      answers = await deps.lookup()(dkimRecordName(k.selector, k.domain), 'TXT');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOTFOUND' || code === 'ENODATA') return false;
      throw new DkimError(`cannot look up ${dkimRecordName(k.selector, k.domain)}: ${code ?? (err as Error).message}`);
    }
    const want = dkimRecordValue(k.algorithm, k.publicKey);
    const kind = want.includes('k=ed25519') ? 'ed25519' : 'rsa';
    return (answers as string[][]).some((strings) => {
      const p = publishedKey(strings.join(''));
      return p !== null && p.k === kind && p.p === k.publicKey;
    });
  }

  /** pending -> active, and the active key of the same algorithm -> retiring. */
  async function promote(pending: DkimKey, keys: DkimKey[]): Promise<DkimKey | null> {
    const t = deps.now();
    const old = keys.find((k) => k.state === 'active' && k.algorithm === pending.algorithm) ?? null;
    if (!(await deps.store.dkim.setState(pending.id, 'active', ['pending'], t))) return null;
    if (old) await deps.store.dkim.setState(old.id, 'retiring', ['active'], t);
    deps.logger?.info({ evt: 'dkim', domain: pending.domain, activated: pending.selector, retiring: old?.selector ?? null }, 'DKIM key activated');
    return old;
  }

  return {
    algorithms,
    /** Keys for a new domain: pending until their records are published. */
    async createKeys(domain: string): Promise<DkimKey[]> {
      const d = await domainOrFail(domain);
      const taken = (await deps.store.dkim.list(d.name)).map((k) => k.selector);
      const out: DkimKey[] = [];
      for (const a of algorithms()) out.push(await makeKey(d, a, taken));
      return out;
    },
    /** The next key of each algorithm (or one), as pending. */
    async rotate(domain: string, only?: DkimAlgorithm): Promise<DkimKey[]> {
      const d = await domainOrFail(domain);
      const keys = await deps.store.dkim.list(d.name);
      const taken = keys.map((k) => k.selector);
      const out: DkimKey[] = [];
      for (const a of only ? [only] : algorithms()) {
        const waiting = keys.find((k) => k.state === 'pending' && k.algorithm === a);
        if (waiting) throw new DkimError(`${d.name} already has a pending ${a} key (${waiting.selector}): publish its record and run postern dkim activate ${d.name}`);
        out.push(await makeKey(d, a, taken));
      }
      return out;
    },
    /** Activates the pending keys whose records are published (all of them with force). */
    async activate(domain: string, o: { force?: boolean } = {}): Promise<{ activated: DkimKey[]; retiring: DkimKey[] }> {
      const d = await domainOrFail(domain);
      const keys = await deps.store.dkim.list(d.name);
      const pending = keys.filter((k) => k.state === 'pending');
      if (!pending.length) throw new DkimError(`${d.name} has no pending key; make one with postern dkim rotate ${d.name}`);
      if (!o.force) {
        for (const k of pending) {
          if (!(await published(k))) {
            throw new DkimError(`the record of ${k.selector} is not published (yet): ${dkimRecordName(k.selector, d.name)} TXT "${dkimRecordValue(k.algorithm, k.publicKey)}"; publish it and try again, or use --force`);
          }
        }
      }
      const activated: DkimKey[] = [];
      const retiring: DkimKey[] = [];
      for (const k of pending) {
        const old = await promote(k, keys);
        activated.push(k);
        if (old) retiring.push(old);
      }
      return { activated, retiring };
    },
    /** The timed steps; returns what it did (for logs and tests). */
    async tick(): Promise<{ retired: string[]; activated: string[]; rotated: string[] }> {
      const t = deps.now();
      const done = { retired: [] as string[], activated: [] as string[], rotated: [] as string[] };
      const keys = await deps.store.dkim.inStates(['pending', 'active', 'retiring']);
      for (const k of keys) {
        if (k.state === 'retiring' && t - (k.retiringAt ?? t) >= deps.policy.retireDays * DAY && (await deps.store.dkim.setState(k.id, 'retired', ['retiring'], t))) {
          done.retired.push(`${k.domain}/${k.selector}`);
          deps.logger?.info({ evt: 'dkim', domain: k.domain, retired: k.selector }, 'DKIM key retired: its record may be removed');
        }
      }
      if (deps.policy.autoActivate) {
        for (const k of keys.filter((x) => x.state === 'pending')) {
          try {
            if (await published(k)) {
              await promote(k, keys.filter((x) => x.domainId === k.domainId));
              done.activated.push(`${k.domain}/${k.selector}`);
            }
          } catch (err) {
            deps.logger?.warn({ evt: 'dkim', domain: k.domain, selector: k.selector, err: (err as Error).message }, 'DKIM record check failed');
          }
        }
      }
      if (deps.policy.rotateDays > 0) {
        for (const k of keys.filter((x) => x.state === 'active' && t - (x.activatedAt ?? x.createdAt) >= deps.policy.rotateDays * DAY)) {
          if (keys.some((x) => x.domainId === k.domainId && x.algorithm === k.algorithm && x.state === 'pending')) continue;
          const d = await deps.store.domains.get(k.domain);
          if (!d) continue;
          const made = await makeKey(d, k.algorithm, keys.filter((x) => x.domainId === k.domainId).map((x) => x.selector));
          done.rotated.push(`${k.domain}/${made.selector}`);
          deps.logger?.warn({ evt: 'dkim', domain: k.domain, pending: made.selector, record: dkimRecordValue(made.algorithm, made.publicKey) }, 'DKIM rotation: publish the record of the new key');
        }
      }
      return done;
    },
  };
}

export type DkimService = ReturnType<typeof createDkimService>;
