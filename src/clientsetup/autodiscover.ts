/**
 * Microsoft Autodiscover, the plain-old-XML (POX) protocol Outlook uses for IMAP/POP/SMTP
 * accounts: the request names the address (EMailAddress), the response gives one Account with
 * a Protocol per server (the preferred outgoing one: Outlook takes the first SMTP protocol).
 */
import { xmlEscape, type ClientSettings, type ServerSetting } from './settings.ts';

export const RESPONSE_NS = 'http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006';
export const OUTLOOK_NS = 'http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a';

/** The address asked for, or null when the request is not a POX request. */
export function requestedAddress(xml: string): string | null {
  const m = /<(?:\w+:)?EMailAddress>\s*([^<\s]+)\s*<\/(?:\w+:)?EMailAddress>/i.exec(xml);
  return m ? m[1]!.replace(/&amp;/g, '&') : null;
}

function protocol(type: string, s: ServerSetting, login: string): string {
  return [
    '      <Protocol>',
    `        <Type>${type}</Type>`,
    `        <Server>${xmlEscape(s.host)}</Server>`,
    `        <Port>${s.port}</Port>`,
    '        <DomainRequired>off</DomainRequired>',
    `        <LoginName>${xmlEscape(login)}</LoginName>`,
    '        <SPA>off</SPA>',
    `        <SSL>on</SSL>`,
    `        <Encryption>${s.security === 'SSL/TLS' ? 'SSL' : 'TLS'}</Encryption>`,
    '        <AuthRequired>on</AuthRequired>',
    '      </Protocol>',
  ].join('\n');
}

export function autodiscoverXml(address: string, c: ClientSettings): string {
  return [
    '<?xml version="1.0" encoding="utf-8"?>',
    `<Autodiscover xmlns="${RESPONSE_NS}">`,
    `  <Response xmlns="${OUTLOOK_NS}">`,
    '    <Account>',
    '      <AccountType>email</AccountType>',
    '      <Action>settings</Action>',
    ...c.incoming.map((s) => protocol(s.protocol.toUpperCase(), s, address)),
    ...c.outgoing.slice(0, 1).map((s) => protocol('SMTP', s, address)),
    '    </Account>',
    '  </Response>',
    '</Autodiscover>',
    '',
  ].join('\n');
}

/** The POX error answer for a request Postern cannot read. */
export function autodiscoverError(code: 600 | 603, message: string): string {
  return [
    '<?xml version="1.0" encoding="utf-8"?>',
    `<Autodiscover xmlns="${RESPONSE_NS}">`,
    '  <Response>',
    `    <Error Time="${new Date().toISOString().slice(11, 19)}" Id="1">`,
    `      <ErrorCode>${code}</ErrorCode>`,
    `      <Message>${xmlEscape(message)}</Message>`,
    '      <DebugData />',
    '    </Error>',
    '  </Response>',
    '</Autodiscover>',
    '',
  ].join('\n');
}
