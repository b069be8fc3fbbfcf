/**
 * limits/: counters and gates (what Postfix calls anvil): connections per client address, the
 * sending limits as data (rules per level and fixed UTC window, and the pure decision of which
 * rules a message would break), and enqueue admission (admit: whether a new message is queued,
 * held or refused, given the facts the store read in its transaction). Pure rules: holds no
 * state beyond the in-memory connection counters and never imports the store (compromise
 * containment, which does, is containment/); the counting itself is done by the store,
 * atomically with the enqueue. Never replies to clients itself; callers turn a refusal into
 * 421 4.7.0, 451 4.7.1 or 550 5.7.1.
 * Imports: core.
 */
export * from './connections.ts';
export * from './windows.ts';
export * from './rules.ts';
export * from './admission.ts';
