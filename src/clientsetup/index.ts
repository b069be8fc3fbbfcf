/**
 * clientsetup/: what mail programs are told so that switching to the submission ports is
 * automatic where they allow it: Thunderbird autoconfig, Outlook Autodiscover, the Apple
 * profile, the settings page, and the DNS records that make clients find them. Built from the
 * configuration and the ports actually listening; never answers for a name that is not a
 * hosted domain (404, the same for every such name). Reads the store only to ask "hosted?".
 * Imports: core, dkim.
 */
export { mountClientSetup, type ClientSetupDeps } from './routes.ts';
export { outgoingOf, type ClientSettings, type ServerSetting } from './settings.ts';
export { autoconfigXml } from './autoconfig.ts';
export { autodiscoverXml, requestedAddress } from './autodiscover.ts';
export { mobileconfig } from './mobileconfig.ts';
export { settingsPage } from './page.ts';
export { domainRecords, formatRecords, type DnsRecord } from './dns.ts';
