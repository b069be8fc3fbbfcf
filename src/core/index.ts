/**
 * core/: pure types and helpers shared by every folder: SMTP replies, addresses, ids, clock,
 * and reading a request body with a bound. Never opens files or sockets and never imports
 * another folder of Postern. Fails only by returning null
 * (invalid input) or throwing on programmer errors.
 * Imports: nothing.
 */
export * from './reply.ts';
export * from './address.ts';
export * from './ids.ts';
export * from './clock.ts';
export * from './date.ts';
export * from './hostport.ts';
export * from './body.ts';
export * from './control.ts';
