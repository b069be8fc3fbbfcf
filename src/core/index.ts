/**
 * core/: pure types and helpers shared by every folder: SMTP replies, addresses, ids, clock.
 * Never does I/O and never imports another folder of Postern. Fails only by returning null
 * (invalid input) or throwing on programmer errors.
 */
export * from './reply.ts';
export * from './address.ts';
export * from './ids.ts';
export * from './clock.ts';
export * from './date.ts';
export * from './hostport.ts';
