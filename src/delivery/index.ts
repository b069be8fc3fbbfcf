/**
 * delivery/: one attempt to one destination: route, smarthost or MX lookup (MX, implicit MX,
 * null MX), DANE (over MTA-STS), MTA-STS, egress pools (source address and HELO per pool), connection reuse, opportunistic STARTTLS, the SMTP transaction on
 * nodemailer's SMTP connection, and every reply turned into a per-recipient outcome through a
 * data table. Never writes the store and never decides retries (queue/ does). Remote trouble
 * never throws: it becomes an outcome (delivered / deferred / failed) with the reply.
 * Imports: core, config, observability, store.
 */
export { createDeliverer, type Deliverer, type DelivererDeps, type NextHop } from './deliver.ts';
export { attemptDelivery, type AttemptRequest, type AttemptResult, type AttemptTarget, type RecipientOutcome } from './attempt.ts';
export { createMxResolver, classifyAddress, type MxResolver, type MxResult, type MxHost } from './mx.ts';
export { createMtaSts, mxAllowed, type MtaSts, type MtaStsPolicy } from './mta-sts.ts';
export { createConnectionPool, type ConnectionPool } from './pool.ts';
export {
  createDane,
  daneStatus,
  verifyDane,
  peerChain,
  usable as usableTlsa,
  type Dane,
  type DaneLookup,
  type DaneTarget,
  type TlsaRecord,
} from './dane.ts';
export { createSecureDns, serversOf, parseServer, type SecureDns, type SecureAnswer } from './secure-dns.ts';
export { createEgressPools, createEgressPool, hashSlot, type EgressPool, type EgressPools, type EgressPoolConfig } from './egress.ts';
export { daneStatusOf, poolOf } from './choices.ts';
export { classifyReply, classifyError, isHardBounce, REPLY_RULES, ERROR_RULES, HARD_BOUNCE_RULES } from './classify.ts';
