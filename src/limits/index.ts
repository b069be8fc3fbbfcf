/**
 * limits/: counters and gates (what Postfix calls anvil). Today: connections per client
 * address. Never replies to clients itself; callers turn a refusal into 421 4.7.0.
 */
export * from './connections.ts';
