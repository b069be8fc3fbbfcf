/**
 * policy/: one check per file, each (context) -> Verdict (continue or reject with an
 * SmtpReply). Never writes state and never talks to the network itself; a check that cannot
 * decide (store down) must reject with 4xx, never continue.
 * Imports: core, config.
 */
export * from './types.ts';
export { checkEnvelopeSender, senderAllowed, type Grant } from './sender.ts';
export { checkHeaderSenders, headerAddresses, type HeaderSenders } from './header-sender.ts';
export { checkRelayAccess, type RelayDeps } from './relay.ts';
export { checkRecipient } from './recipients.ts';
export { checkSourceRoute, hasSourceRoute } from './source-route.ts';
export { checkSuppression, suppressedText, MAX_QUOTED } from './suppression.ts';
