/**
 * DANE for outgoing SMTP (RFC 7672, RFC 7671): TLSA records of an MX host, looked up through a
 * validating resolver whose AD bit is trusted, and the check of the server's certificate chain
 * against them. Usable records are DANE-TA(2) and DANE-EE(3) with selector 0 or 1 and matching
 * type 0, 1 or 2; PKIX-TA(0) and PKIX-EE(1) are ignored (RFC 7672 section 3.1.3). DANE-EE
 * checks neither names nor dates (section 3.1.1); DANE-TA checks the chain up to the matched
 * certificate, its dates and the MX host name (section 3.1.2). Never throws: a lookup says
 * none / dane / encrypt-only / defer, a check says why it failed.
 */
import { createHash, X509Certificate } from 'node:crypto';
import type { TLSSocket, PeerCertificate, DetailedPeerCertificate } from 'node:tls';
import type { SecureDns } from './secure-dns.ts';

export interface TlsaRecord {
  usage: number;
  selector: number;
  matchingType: number;
  data: Buffer;
}

export type DaneLookup =
  /** DANE does not apply (unsigned zone, no TLSA): the usual policy (MTA-STS, opportunistic TLS). */
  | { kind: 'none'; why: string }
  /** Usable records: TLS is required and the certificate must match one of them. */
  | { kind: 'dane'; records: TlsaRecord[] }
  /** Signed TLSA records, none usable: TLS is required, unauthenticated (RFC 7672 section 2.2). */
  | { kind: 'encrypt'; why: string }
  /** The lookup failed in a signed zone: this host is not tried now. */
  | { kind: 'defer'; why: string };

/** What attempt.ts checks once TLS is up: the records and the names a DANE-TA chain must carry. */
export interface DaneTarget {
  host: string;
  records: TlsaRecord[];
  names: string[];
}

export const usable = (r: TlsaRecord): boolean =>
  (r.usage === 2 || r.usage === 3) && (r.selector === 0 || r.selector === 1) && r.matchingType >= 0 && r.matchingType <= 2;

export const describe = (r: TlsaRecord): string => `${r.usage} ${r.selector} ${r.matchingType} ${r.data.toString('hex').slice(0, 16)}...`;

export interface Dane {
  /** Whether the MX RRset of a domain (or its address records, for an implicit MX) validated. */
  secure(name: string, type: 'MX' | 'A'): Promise<{ secure: boolean; failed: boolean }>;
  /** The TLSA records of _PORT._tcp.HOST. */
  tlsa(host: string, port: number): Promise<DaneLookup>;
}

export function createDane(dns: SecureDns): Dane {
  return {
    async secure(name, type) {
      const r = await dns.query(name, type);
      return {
        secure: r.secure && (r.rcode === 'NOERROR' || r.rcode === 'NXDOMAIN'),
        failed: r.rcode !== 'NOERROR' && r.rcode !== 'NXDOMAIN',
      };
    },
    async tlsa(host, port) {
      const name = `_${port}._tcp.${host.replace(/\.$/, '')}`;
      const r = await dns.query(name, 'TLSA');
      if (r.rcode !== 'NOERROR' && r.rcode !== 'NXDOMAIN') return { kind: 'defer', why: `the TLSA lookup of ${name} failed (${r.rcode})` };
      if (!r.secure) return { kind: 'none', why: `${name} is not DNSSEC-signed` };
      const records = r.answers.flatMap((a): TlsaRecord[] => {
        if (a.type !== 'TLSA') return [];
        const d = a.data as { usage: number; selector: number; matchingType: number; certificate: Buffer };
        return [{ usage: d.usage, selector: d.selector, matchingType: d.matchingType, data: Buffer.from(d.certificate) }];
      });
      if (!records.length) return { kind: 'none', why: `${name} has no TLSA records` };
      const use = records.filter(usable);
      if (!use.length) return { kind: 'encrypt', why: `${name} has only unusable TLSA records (${records.map(describe).join(', ')})` };
      return { kind: 'dane', records: use };
    },
  };
}

/** The association data of a certificate under a record's selector and matching type. */
function associated(cert: X509Certificate, r: TlsaRecord): Buffer {
  const selected = r.selector === 0 ? cert.raw : cert.publicKey.export({ type: 'spki', format: 'der' });
  if (r.matchingType === 0) return selected;
  return createHash(r.matchingType === 1 ? 'sha256' : 'sha512')
    .update(selected)
    .digest();
}

const matches = (cert: X509Certificate, r: TlsaRecord): boolean => associated(cert, r).equals(r.data);

/** The chain the server sent, leaf first, as X509Certificate objects. */
export function peerChain(socket: TLSSocket): X509Certificate[] {
  const out: X509Certificate[] = [];
  let c: DetailedPeerCertificate | PeerCertificate | undefined = socket.getPeerCertificate(true);
  const seen = new Set<string>();
  while (c && c.raw && out.length < 10) {
    const fp = c.fingerprint256;
    if (seen.has(fp)) break;
    seen.add(fp);
    out.push(new X509Certificate(c.raw));
    c = (c as DetailedPeerCertificate).issuerCertificate;
  }
  return out;
}

/** Null when the chain matches a usable record; else why not (for the deferral's reply). */
export function verifyDane(
  t: DaneTarget,
  chain: X509Certificate[],
  now = Date.now(),
): { ok: true; matched: string } | { ok: false; why: string } {
  const leaf = chain[0];
  if (!leaf) return { ok: false, why: 'the server presented no certificate' };
  for (const r of t.records.filter((x) => x.usage === 3)) {
    if (matches(leaf, r)) return { ok: true, matched: `DANE-EE ${r.usage} ${r.selector} ${r.matchingType}` };
  }
  const ta = t.records.filter((x) => x.usage === 2);
  let why = '';
  for (let k = 1; k < chain.length && ta.length; k++) {
    const r = ta.find((x) => matches(chain[k]!, x));
    if (!r) continue;
    const broken = chainUpTo(chain, k, now);
    if (broken) {
      why = broken;
      continue;
    }
    const name = t.names.find((n) => leaf.checkHost(n, { subject: 'default', wildcards: true, partialWildcards: false }));
    if (!name) {
      why = `the certificate names none of ${t.names.join(', ')} (DANE-TA)`;
      continue;
    }
    return { ok: true, matched: `DANE-TA ${r.usage} ${r.selector} ${r.matchingType} (${name})` };
  }
  return { ok: false, why: why || `no TLSA record of ${t.host} matches the certificate chain (${t.records.map(describe).join(', ')})` };
}

/** Each certificate up to chain[k] is issued and signed by the next and in its dates; null when so. */
function chainUpTo(chain: X509Certificate[], k: number, now: number): string | null {
  for (let i = 0; i < k; i++) {
    const c = chain[i]!;
    const issuer = chain[i + 1]!;
    if (!c.checkIssued(issuer) || !c.verify(issuer.publicKey))
      return `certificate ${i} is not signed by the next one in the chain (DANE-TA)`;
    if (Date.parse(c.validFrom) > now || Date.parse(c.validTo) < now) return `certificate ${i} is outside its validity dates (DANE-TA)`;
  }
  return null;
}

/** Whether DANE is in effect, and if not, why (for `config check` and the start-up log). */
export function daneStatus(o: {
  enabled: boolean;
  validating: boolean;
  servers: { host: string }[];
  trusted: string[];
}): { on: true; why: string } | { on: false; why: string } {
  if (!o.enabled) return { on: false, why: 'DANE is off: delivery.dane is false' };
  if (!o.validating) return { on: false, why: 'DANE is off: dns.validating is not set (the DNS servers are not known to validate DNSSEC)' };
  if (!o.servers.length) return { on: false, why: 'DANE is off: no DNS server is configured or found' };
  const untrusted = o.servers.filter((s) => !isLoopback(s.host) && !o.trusted.includes(s.host));
  if (untrusted.length) {
    return {
      on: false,
      why: `DANE is off: the AD bit of ${untrusted.map((s) => s.host).join(', ')} is not believed (not on loopback and not in dns.trustedResolvers)`,
    };
  }
  return { on: true, why: `DANE is on: TLSA records are looked up through ${o.servers.map((s) => s.host).join(', ')}` };
}

function isLoopback(host: string): boolean {
  return host === '::1' || /^127\./.test(host) || /^::ffff:127\./i.test(host);
}
