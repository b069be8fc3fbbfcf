/**
 * Mozilla/Thunderbird autoconfig (config-v1.1.xml, the ISPDB format): one emailProvider for the
 * domain, the provider's incoming servers when it runs any, and every outgoing server in order
 * of preference, with the full address as the login.
 */
import { xmlEscape, type ClientSettings, type ServerSetting } from './settings.ts';

const SOCKET: Record<ServerSetting['security'], string> = { 'SSL/TLS': 'SSL', STARTTLS: 'STARTTLS' };

function server(tag: 'incomingServer' | 'outgoingServer', type: string, s: ServerSetting): string {
  return [
    `    <${tag} type="${type}">`,
    `      <hostname>${xmlEscape(s.host)}</hostname>`,
    `      <port>${s.port}</port>`,
    `      <socketType>${SOCKET[s.security]}</socketType>`,
    '      <username>%EMAILADDRESS%</username>',
    '      <authentication>password-cleartext</authentication>',
    `    </${tag}>`,
  ].join('\n');
}

export function autoconfigXml(domain: string, c: ClientSettings): string {
  const web = `https://${c.webHost}${c.webPort === 443 ? '' : `:${c.webPort}`}/settings?domain=${encodeURIComponent(domain)}`;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<clientConfig version="1.1">',
    `  <emailProvider id="${xmlEscape(domain)}">`,
    `    <domain>${xmlEscape(domain)}</domain>`,
    `    <displayName>${xmlEscape(c.provider)}</displayName>`,
    `    <displayShortName>${xmlEscape(c.provider.slice(0, 30))}</displayShortName>`,
    ...c.incoming.map((s) => server('incomingServer', s.protocol, s)),
    ...c.outgoing.map((s) => server('outgoingServer', 'smtp', s)),
    `    <documentation url="${xmlEscape(web)}">`,
    `      <descr lang="en">Mail settings for ${xmlEscape(domain)}</descr>`,
    '    </documentation>',
    '  </emailProvider>',
    '</clientConfig>',
    '',
  ].join('\n');
}
