/**
 * queue/: durable queue state and scheduling, never the network. Today: the group-commit
 * enqueuer that makes accepted messages durable before their 250. Fails by rejecting the
 * enqueue promise (the session answers 451 4.3.0 and removes the body).
 */
export * from './enqueue.ts';
