/**
 * limits/: counters and gates (what Postfix calls anvil): connections per client address, the
 * sending limits as data (rules per level and fixed UTC window, and the pure decision of
 * which rules a message would break), and compromise containment (signals that put a mailbox
 * on hold). The counting itself is done by the store, atomically
 * with the enqueue. Never replies to clients itself; callers turn a refusal into 421 4.7.0,
 * 451 4.7.1 or 550 5.7.1.
 * Imports: core.
 */
export * from './connections.ts';
export * from './windows.ts';
export * from './rules.ts';
export * from './containment.ts';
