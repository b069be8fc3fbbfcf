/**
 * The secrets key must open what is sealed in the store. A node started with another key (its
 * own, made on first use, instead of a copy of the first node's) would fail every DKIM signature
 * and every route login later; it is refused at start instead, with what to do.
 */
import type { Store } from '../store/index.ts';
import type { SecretBox } from './secrets.ts';

/** One sealed value of the store (a DKIM private key or a route password), or null when there is none. */
async function sample(store: Store): Promise<{ what: string; sealed: string } | null> {
  const [key] = await store.dkim.inStates(['active', 'pending', 'retiring']);
  if (key) return { what: `the DKIM key ${key.selector} of ${key.domain}`, sealed: key.privateKey };
  const route = (await store.routes.list()).find((r) => r.authSecret);
  return route?.authSecret ? { what: `the route password of ${route.domain}`, sealed: route.authSecret } : null;
}

/** Throws when the key cannot open a sealed value of the store; returns what it checked (or null). */
export async function checkSecretsKey(store: Store, box: SecretBox, keyFile: string): Promise<string | null> {
  const s = await sample(store);
  if (!s) return null;
  try {
    box.open(s.sealed);
  } catch {
    throw new Error(
      `the secrets key ${keyFile} does not open ${s.what}: every node of one store needs the same key file; copy it from the node that made the others (docs/cluster.md)`,
    );
  }
  return s.what;
}
