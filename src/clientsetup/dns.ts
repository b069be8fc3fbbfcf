/**
 * The DNS records that make mail programs find the settings and the mail of a domain pass the
 * receivers' checks: RFC 6186/8314 SRV records for submission, the autoconfig and autodiscover
 * names, and the DKIM, SPF and DMARC records, each as a zone-file line.
 */
import { dkimRecordName, dkimRecordValue, suggestSpf, zoneQuoted, type DkimAlgorithm } from '../dkim/index.ts';
import type { ClientSettings } from './settings.ts';

/** A record to publish; type NOTE is a remark without a record (no DKIM key yet, SPF unknown): its value is null. */
export type DnsRecord =
  | { name: string; type: 'SRV' | 'CNAME' | 'TXT'; value: string; why: string }
  | { name: string; type: 'NOTE'; value: null; why: string };

/** Why no SPF record is suggested: the addresses it must name are not configured. */
export const SPF_UNKNOWN =
  'SPF (advisory): no record suggested, because no sending IPs are configured (config key delivery.publicAddresses), so the addresses this server sends from are unknown; ' +
  'set them and run this again; until then keep the SPF record the domain has (postern domain check evaluates it)';

export function domainRecords(o: {
  domain: string;
  clients: ClientSettings;
  keys: { selector: string; algorithm: DkimAlgorithm; publicKey: string; state: string }[];
  sendingIps: string[];
}): DnsRecord[] {
  const { domain, clients: c } = o;
  const fqdn = (h: string) => `${h.replace(/\.$/, '')}.`;
  const out: DnsRecord[] = [];
  const implicit = c.outgoing.find((s) => s.security === 'SSL/TLS');
  const starttls = c.outgoing.find((s) => s.security === 'STARTTLS');
  if (implicit)
    out.push({
      name: `_submissions._tcp.${domain}`,
      type: 'SRV',
      value: `0 1 ${implicit.port} ${fqdn(implicit.host)}`,
      why: 'RFC 8314: submission over implicit TLS',
    });
  if (starttls)
    out.push({
      name: `_submission._tcp.${domain}`,
      type: 'SRV',
      value: `${implicit ? 10 : 0} 1 ${starttls.port} ${fqdn(starttls.host)}`,
      why: 'RFC 6186: submission with STARTTLS',
    });
  out.push(
    {
      name: `autoconfig.${domain}`,
      type: 'CNAME',
      value: fqdn(c.webHost),
      why: `Thunderbird autoconfig (HTTPS${c.webPort === 443 ? '' : `; clients look on port 443, this listener is on ${c.webPort}: forward 443 to it`})`,
    },
    { name: `autodiscover.${domain}`, type: 'CNAME', value: fqdn(c.webHost), why: 'Outlook Autodiscover (HTTPS, port 443)' },
  );
  for (const k of o.keys.filter((x) => x.state !== 'retired')) {
    out.push({
      name: dkimRecordName(k.selector, domain),
      type: 'TXT',
      value: zoneQuoted(dkimRecordValue(k.algorithm, k.publicKey)),
      why: `DKIM key ${k.selector} (${k.state})`,
    });
  }
  if (!o.keys.some((k) => k.state !== 'retired'))
    out.push({ name: domain, type: 'NOTE', value: null, why: `no DKIM key yet: postern dkim rotate ${domain} makes one` });
  if (o.sendingIps.length)
    out.push({
      name: domain,
      type: 'TXT',
      value: zoneQuoted(suggestSpf(undefined, o.sendingIps)),
      why: 'SPF: the addresses this server sends from (merge with an existing SPF record: one per domain)',
    });
  else out.push({ name: domain, type: 'NOTE', value: null, why: SPF_UNKNOWN });
  out.push({
    name: `_dmarc.${domain}`,
    type: 'TXT',
    value: zoneQuoted(`v=DMARC1; p=none; rua=mailto:postmaster@${domain}`),
    why: 'DMARC: start with p=none and reports, then move to quarantine or reject',
  });
  return out;
}

export function formatRecords(records: DnsRecord[]): string {
  return records
    .map((r) => (r.type === 'NOTE' ? `; ${r.why}` : `; ${r.why}\n${r.name.replace(/\.$/, '')}. IN ${r.type} ${r.value}`))
    .join('\n');
}
