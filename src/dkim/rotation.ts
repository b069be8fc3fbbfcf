/**
 * Staged key rotation. A new key is `pending` (its record is to be published); activating it
 * (once DNS shows the record, or forced) makes it `active` and the key it replaces `retiring`:
 * the retiring key's record must stay published for `retireDays`, because mail signed with it
 * may still be in transit, after which it is `retired`. `tick` does the timed steps: retire,
 * activate published pending keys (autoActivate), and start a rotation when the active key is
 * `rotateDays` old. Each algorithm (RSA, Ed25519) rotates on its own.
 */
import type { Logger } from 'pino';
import type { Store } from '../store/index.ts';
import type { DkimKey, Domain } from '../core/index.ts';
import type { SecretBox } from '../credentials/index.ts';
import { generateDkimKey, newSelector } from './keys.ts';
import { dkimRecordName, dkimRecordValue, publishedKey, type DkimAlgorithm } from './records.ts';
import type { DnsLookup } from './dns.ts';

export interface DkimPolicy {
  ed25519: boolean;
  rsaBits: number;
  retireDays: number;
  rotateDays: number;
  autoActivate: boolean;
}

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

/** What a tick did ("domain/selector" each), for logs and tests. */
export interface TickResult {
  retired: string[];
  activated: string[];
  rotated: string[];
}

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
    return deps.store.dkim.add({
      domainId: d.id,
      selector,
      algorithm,
      privateKey: deps.secrets().seal(pair.privateKeyPem),
      publicKey: pair.publicKey,
      state: 'pending',
    });
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

  /** pending -> active, and the active keys of the same algorithm -> retiring (one transaction). */
  async function promote(pending: DkimKey): Promise<DkimKey[] | null> {
    const old = await deps.store.dkim.promote(pending.id, deps.now());
    if (old)
      deps.logger?.info(
        { evt: 'dkim', domain: pending.domain, activated: pending.selector, retiring: old.map((k) => k.selector) },
        'DKIM key activated',
      );
    return old;
  }

  let ticking = false;

  async function tickOnce(done: TickResult): Promise<TickResult> {
    const t = deps.now();
    const keys = await deps.store.dkim.inStates(['pending', 'active', 'retiring']);
    for (const k of keys) {
      if (
        k.state === 'retiring' &&
        t - (k.retiringAt ?? t) >= deps.policy.retireDays * DAY &&
        (await deps.store.dkim.setState(k.id, 'retired', ['retiring'], t))
      ) {
        done.retired.push(`${k.domain}/${k.selector}`);
        deps.logger?.info({ evt: 'dkim', domain: k.domain, retired: k.selector }, 'DKIM key retired: its record may be removed');
      }
    }
    if (deps.policy.autoActivate) {
      for (const k of keys.filter((x) => x.state === 'pending')) {
        try {
          if ((await published(k)) && (await promote(k))) done.activated.push(`${k.domain}/${k.selector}`);
        } catch (err) {
          deps.logger?.warn(
            { evt: 'dkim', domain: k.domain, selector: k.selector, err: (err as Error).message },
            'DKIM record check failed',
          );
        }
      }
    }
    if (deps.policy.rotateDays > 0) {
      for (const k of keys.filter((x) => x.state === 'active' && t - (x.activatedAt ?? x.createdAt) >= deps.policy.rotateDays * DAY)) {
        if (keys.some((x) => x.domainId === k.domainId && x.algorithm === k.algorithm && x.state === 'pending')) continue;
        const d = await deps.store.domains.get(k.domain);
        if (!d) continue;
        let made: DkimKey;
        try {
          made = await makeKey(
            d,
            k.algorithm,
            (await deps.store.dkim.list(k.domain)).map((x) => x.selector),
          );
        } catch (err) {
          deps.logger?.warn({ evt: 'dkim', domain: k.domain, err: (err as Error).message }, 'DKIM rotation could not make a key');
          continue;
        }
        done.rotated.push(`${k.domain}/${made.selector}`);
        deps.logger?.warn(
          { evt: 'dkim', domain: k.domain, pending: made.selector, record: dkimRecordValue(made.algorithm, made.publicKey) },
          'DKIM rotation: publish the record of the new key',
        );
      }
    }
    return done;
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
        if (waiting)
          throw new DkimError(
            `${d.name} already has a pending ${a} key (${waiting.selector}): publish its record and run postern dkim activate ${d.name}`,
          );
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
            throw new DkimError(
              `the record of ${k.selector} is not published (yet): ${dkimRecordName(k.selector, d.name)} TXT "${dkimRecordValue(k.algorithm, k.publicKey)}"; publish it and try again, or use --force`,
            );
          }
        }
      }
      const activated: DkimKey[] = [];
      const retiring: DkimKey[] = [];
      for (const k of pending) {
        const old = await promote(k);
        if (!old) continue; // promoted meanwhile by another process
        activated.push(k);
        retiring.push(...old);
      }
      return { activated, retiring };
    },
    /** The timed steps; returns what it did (for logs and tests). */
    async tick(): Promise<TickResult> {
      const done: TickResult = { retired: [], activated: [], rotated: [] };
      if (ticking) return done; // a slow tick (DNS) is not overtaken by the next
      ticking = true;
      try {
        return await tickOnce(done);
      } finally {
        ticking = false;
      }
    },
  };
}

export type DkimService = ReturnType<typeof createDkimService>;
