/**
 * The DNS side of DKIM keys: the TXT record of a selector (RFC 6376 section 3.6.1; k=ed25519 per
 * RFC 8463) and how to publish it as quoted strings of at most 255 characters each.
 */

export type DkimAlgorithm = 'rsa-sha256' | 'ed25519-sha256';

/** The name of a selector's record. */
export function dkimRecordName(selector: string, domain: string): string {
  return `${selector}._domainkey.${domain}`;
}

/**
 * The record's value. publicKey: for RSA the base64 of the DER SubjectPublicKeyInfo, for
 * Ed25519 the base64 of the raw 32-byte key (RFC 8463 section 4.2).
 */
export function dkimRecordValue(algorithm: DkimAlgorithm, publicKey: string): string {
  return `v=DKIM1; k=${algorithm === 'rsa-sha256' ? 'rsa' : 'ed25519'}; p=${publicKey}`;
}

/** A TXT value as DNS zone-file strings: "..." "..." (each at most 255 characters). */
export function txtStrings(value: string, max = 255): string[] {
  const out: string[] = [];
  for (let i = 0; i < value.length; i += max) out.push(value.slice(i, i + max));
  return out.length ? out : [''];
}

export function zoneQuoted(value: string): string {
  return txtStrings(value)
    .map((s) => `"${s.replace(/["\\]/g, '\\$&')}"`)
    .join(' ');
}

/** The p= key of a published DKIM record (strings already joined), or null. */
export function publishedKey(txt: string): { k: string; p: string } | null {
  const tags = new Map<string, string>();
  for (const part of txt.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    tags.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).replace(/\s+/g, ''));
  }
  if (!tags.has('p')) return null;
  return { k: (tags.get('k') ?? 'rsa').toLowerCase(), p: tags.get('p')! };
}
