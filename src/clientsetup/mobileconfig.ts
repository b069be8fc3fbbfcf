/**
 * An Apple configuration profile (.mobileconfig) for one mailbox: a com.apple.mail.managed
 * payload with the provider's first incoming server and the preferred outgoing server, the
 * full address as the login, no password (the device asks for it). UUIDs are derived from the
 * address, so downloading it again replaces the account instead of adding a second one.
 */
import { createHash } from 'node:crypto';
import { xmlEscape, type ClientSettings } from './settings.ts';

function uuidOf(seed: string): string {
  const h = createHash('sha256').update(seed).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`.toUpperCase();
}

const str = (k: string, v: string) => `      <key>${k}</key>\n      <string>${xmlEscape(v)}</string>`;
const int = (k: string, v: number) => `      <key>${k}</key>\n      <integer>${v}</integer>`;
const bool = (k: string, v: boolean) => `      <key>${k}</key>\n      <${v ? 'true' : 'false'}/>`;

/** The profile, or null when the provider runs no incoming server (the payload needs one). */
export function mobileconfig(address: string, c: ClientSettings): string | null {
  const incoming = c.incoming[0];
  const outgoing = c.outgoing[0];
  if (!incoming || !outgoing) return null;
  const domain = address.slice(address.lastIndexOf('@') + 1);
  const id = `${domain.split('.').reverse().join('.')}.mail.${uuidOf(address).slice(0, 8).toLowerCase()}`;
  const inner = [
    str('EmailAccountDescription', `${address} (${c.provider})`),
    str('EmailAccountName', address),
    str('EmailAccountType', incoming.protocol === 'imap' ? 'EmailTypeIMAP' : 'EmailTypePOP'),
    str('EmailAddress', address),
    str('IncomingMailServerAuthentication', 'EmailAuthPassword'),
    str('IncomingMailServerHostName', incoming.host),
    int('IncomingMailServerPortNumber', incoming.port),
    bool('IncomingMailServerUseSSL', true),
    str('IncomingMailServerUsername', address),
    str('OutgoingMailServerAuthentication', 'EmailAuthPassword'),
    str('OutgoingMailServerHostName', outgoing.host),
    int('OutgoingMailServerPortNumber', outgoing.port),
    bool('OutgoingMailServerUseSSL', true),
    str('OutgoingMailServerUsername', address),
    bool('OutgoingPasswordSameAsIncomingPassword', true),
    str('PayloadDescription', `Mail account ${address}`),
    str('PayloadDisplayName', address),
    str('PayloadIdentifier', `${id}.account`),
    str('PayloadType', 'com.apple.mail.managed'),
    str('PayloadUUID', uuidOf(`${address}/account`)),
    int('PayloadVersion', 1),
  ];
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
    '<plist version="1.0">',
    '<dict>',
    '  <key>PayloadContent</key>',
    '  <array>',
    '    <dict>',
    ...inner,
    '    </dict>',
    '  </array>',
    `  <key>PayloadDisplayName</key>\n  <string>${xmlEscape(`Mail: ${address}`)}</string>`,
    `  <key>PayloadIdentifier</key>\n  <string>${xmlEscape(id)}</string>`,
    '  <key>PayloadRemovalDisallowed</key>\n  <false/>',
    '  <key>PayloadType</key>\n  <string>Configuration</string>',
    `  <key>PayloadUUID</key>\n  <string>${uuidOf(address)}</string>`,
    '  <key>PayloadVersion</key>\n  <integer>1</integer>',
    '</dict>',
    '</plist>',
    '',
  ].join('\n');
}
