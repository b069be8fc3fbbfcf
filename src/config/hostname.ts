/**
 * The default host name: the machine's fully qualified name, as `hostname -f` gives it. The
 * kernel's name when it has a dot; otherwise the canonical name (first name) of the /etc/hosts
 * line that lists the short name, which is where Debian and most installers put the FQDN. Read
 * synchronously from files, never from DNS: a resolver that does not answer must not hold up
 * the start of every command.
 */
import fs from 'node:fs';
import os from 'node:os';

/** The canonical name that an /etc/hosts text gives `short`, or null. */
export function canonicalFromHosts(hostsText: string, short: string): string | null {
  const want = short.toLowerCase();
  for (const raw of hostsText.split('\n')) {
    const names = raw
      .replace(/#.*/, '')
      .trim()
      .split(/\s+/)
      .slice(1)
      .map((n) => n.toLowerCase());
    if (!names.includes(want) && !names.some((n) => n.startsWith(`${want}.`))) continue;
    const full = names.find((n) => n.startsWith(`${want}.`)) ?? (names[0]?.includes('.') ? names[0] : undefined);
    if (full) return full.replace(/\.$/, '');
  }
  return null;
}

export function fullHostname(short = os.hostname(), hostsFile = '/etc/hosts'): string {
  if (short.includes('.')) return short.replace(/\.$/, '');
  let text = '';
  try {
    text = fs.readFileSync(hostsFile, 'utf8');
  } catch {
    /* no hosts file */
  }
  return canonicalFromHosts(text, short) ?? short;
}

/** Where the host name shows to customers: what a warning about a short name lists. */
export const HOSTNAME_SHOWN_IN = [
  'the SMTP greeting and EHLO reply',
  'Received lines and Message-IDs',
  'bounces (MAILER-DAEMON@hostname)',
  'autoconfig, Autodiscover and the Apple profile (server name)',
  'the settings page',
  'the SRV records printed by `domain dns`',
];
