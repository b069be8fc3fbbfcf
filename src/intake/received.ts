/** The Received line of RFC 5321 section 4.4, with RFC 3848 protocol names and the TLS version. */
import { rfc5322Date } from './headers.ts';

export interface ReceivedInfo {
  heloName: string;
  clientHostname: string | null;
  clientIp: string;
  hostname: string;
  queueId: string;
  tls: { version: string; cipher: string } | null;
  authenticated: boolean;
  singleRecipient: string | null;
  now: Date;
  /** Extra comment naming the local sender (sites). */
  via?: string;
  /** Protocol name when it is not (E)SMTP, e.g. "HTTPSA" for the send API. */
  protocol?: string;
}

const clean = (s: string) =>
  s
    .replace(/[^\x21-\x7e]/g, '')
    .replace(/[()\\]/g, '')
    .slice(0, 255) || 'unknown';

export function protocolName(esmtp: boolean, tls: boolean, auth: boolean): string {
  return (esmtp ? 'ESMTP' : 'SMTP') + (tls ? 'S' : '') + (auth ? 'A' : '');
}

export function buildReceived(r: ReceivedInfo): string {
  const ip = r.clientIp.includes(':') ? `IPv6:${r.clientIp}` : r.clientIp;
  const from = `from ${clean(r.heloName)} (${r.clientHostname ? clean(r.clientHostname) + ' ' : ''}[${ip}])`;
  const proto = r.protocol ? clean(r.protocol) : protocolName(true, !!r.tls, r.authenticated);
  const lines = [from, `\tby ${r.hostname} (Postern) with ${proto} id ${r.queueId}`];
  if (r.tls) lines.push(`\t(version=${clean(r.tls.version)} cipher=${clean(r.tls.cipher)})`);
  if (r.via)
    lines.push(
      `\t(${r.via
        .replace(/[^\x20-\x7e]/g, '')
        .replace(/[()\\]/g, '')
        .slice(0, 255)})`,
    );
  if (r.singleRecipient) lines.push(`\tfor <${r.singleRecipient.replace(/[<>\r\n]/g, '')}>`);
  lines[lines.length - 1] += `; ${rfc5322Date(r.now)}`;
  return lines.join('\r\n');
}
