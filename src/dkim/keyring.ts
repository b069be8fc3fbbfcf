/**
 * The signing keys in memory: the active keys of a domain, unsealed and parsed once, kept for
 * a short time so that signing costs no store read per message while a rotation done by the
 * CLI in another process still takes effect within `ttlMs`.
 */
import { createPrivateKey } from 'node:crypto';
import type { Logger } from 'pino';
import type { Store } from '../store/index.ts';
import type { SecretBox } from '../credentials/index.ts';
import type { SigningKey } from './signer.ts';

export interface Keyring {
  keysFor(domain: string): Promise<SigningKey[]>;
  /** Forgets what is cached (after a change made in this process). */
  clear(): void;
}

export function createKeyring(deps: { store: Store; secrets: () => SecretBox; ttlMs: number; now: () => number; logger: Logger }): Keyring {
  const cache = new Map<string, { at: number; keys: Promise<SigningKey[]> }>();
  async function load(domain: string): Promise<SigningKey[]> {
    const out: SigningKey[] = [];
    for (const k of await deps.store.dkim.list(domain)) {
      if (k.state !== 'active') continue;
      try {
        out.push({ domain, selector: k.selector, algorithm: k.algorithm, privateKey: createPrivateKey(deps.secrets().open(k.privateKey)) });
      } catch (err) {
        // a key that cannot be opened (another secrets key?) signs nothing; the message still goes
        deps.logger.error({ evt: 'dkim', domain, selector: k.selector, err: (err as Error).message }, 'DKIM key cannot be opened');
      }
    }
    // RSA first: a receiver that checks only the first signature finds the one every verifier knows
    return out.sort((a, b) => (a.algorithm === b.algorithm ? 0 : a.algorithm === 'rsa-sha256' ? -1 : 1));
  }
  return {
    keysFor(domain) {
      const hit = cache.get(domain);
      const t = deps.now();
      if (hit && t - hit.at < deps.ttlMs) return hit.keys;
      const keys = load(domain);
      cache.set(domain, { at: t, keys });
      keys.catch(() => cache.delete(domain));
      return keys;
    },
    clear: () => cache.clear(),
  };
}
