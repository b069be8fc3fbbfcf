/**
 * containment/: compromise containment, a stateful service over the store: the signs of a
 * stolen mailbox (or a misused site) counted per hour after each login, accepted message and
 * spam verdict, and the hold with its notices when one trips. Never replies to clients and
 * never blocks a session (it runs after the reply); the limits it reads are plain config, so
 * limits/ stays pure rules. Fails quietly: its own store errors are logged, never thrown.
 * Imports: core, observability, store.
 */
export * from './containment.ts';
