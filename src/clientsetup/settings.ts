/**
 * What a mail program must be told, built from the configuration and the ports the listeners
 * actually listen on (never hard-coded): the outgoing servers in order of preference (implicit
 * TLS first, then 587, 2525 and any other STARTTLS port), and the provider's incoming servers.
 */

export type Security = 'SSL/TLS' | 'STARTTLS';

export interface ServerSetting {
  host: string;
  port: number;
  security: Security;
}
export interface IncomingSetting extends ServerSetting {
  protocol: 'imap' | 'pop3';
}

export interface ClientSettings {
  provider: string;
  /** The host of the HTTPS listener (autoconfig, Autodiscover, the settings page). */
  webHost: string;
  /** The HTTPS port of the settings page. */
  webPort: number;
  outgoing: ServerSetting[];
  incoming: IncomingSetting[];
}

const PREFERENCE = [587, 2525];

/** Outgoing servers from the listeners (role and bound port): implicit TLS first, then STARTTLS by preference. */
export function outgoingOf(host: string, listeners: { role: string; port: number }[]): ServerSetting[] {
  const rank = (s: ServerSetting) =>
    s.security === 'SSL/TLS' ? (s.port === 465 ? 0 : 1) : 10 + (PREFERENCE.includes(s.port) ? PREFERENCE.indexOf(s.port) : 5);
  const seen = new Set<string>();
  return listeners
    .filter((l) => l.role === 'submission' || l.role === 'submissions')
    .map((l): ServerSetting => ({ host, port: l.port, security: l.role === 'submissions' ? 'SSL/TLS' : 'STARTTLS' }))
    .filter((s) => !seen.has(`${s.port}`) && seen.add(`${s.port}`))
    .sort((a, b) => rank(a) - rank(b) || a.port - b.port);
}

export function xmlEscape(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** The domain of an address, lower-case, or null. */
export function domainOfAddress(address: string): string | null {
  const at = address.lastIndexOf('@');
  if (at < 1 || at === address.length - 1 || /[\s<>]/.test(address)) return null;
  return address.slice(at + 1).toLowerCase();
}
