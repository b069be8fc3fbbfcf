/**
 * queue/: durable queue state and scheduling, never the network. The group-commit enqueuer
 * that makes accepted messages durable before their 250; the scheduler that claims due
 * recipients with leases and runs delivery jobs within concurrency limits; the retry policy
 * (data) that turns an outcome into the next state and the notice owed. Fails by rejecting the
 * enqueue promise (the session answers 451 4.3.0); a failed claim is logged and tried at the
 * next poll, a failed result write is tried again a few times, and leases bring back whatever
 * was still lost.
 * Imports: core, spool, store.
 */
export * from './enqueue.ts';
export * from './scheduler.ts';
export * from './retry.ts';
