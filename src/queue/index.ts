/**
 * queue/: durable queue state and scheduling, never the network. The group-commit enqueuer
 * that makes accepted messages durable before their 250; the scheduler that claims due
 * recipients with leases and runs delivery jobs within concurrency limits; the runner that
 * drives one job through the `Deliverer` and `Notifier` it is handed (delivery/ and bounce/
 * implement them; queue/ never imports either); the retry policy (data) that turns an outcome
 * into the next state and the notice owed. Fails by rejecting the enqueue promise (the session
 * answers 451 4.3.0); a failed claim is logged and tried at the next poll, a failed result
 * write is tried again a few times, a notice that cannot be queued keeps its recipient until
 * the message expires, and leases bring back whatever was still lost.
 * Imports: core, observability, limits, spool, store.
 */
export * from './enqueue.ts';
export * from './scheduler.ts';
export * from './retry.ts';
export * from './runner.ts';
