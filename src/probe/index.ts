/**
 * probe/: `postern probe HOST`, run by a customer when a support agent asks. Owns a small
 * client-side SMTP dialogue (greeting, EHLO, STARTTLS or implicit TLS, AUTH listing, QUIT) on
 * ports 25/465/587/2525, the certificate report and the recommended mail-program setting.
 * Never logs in, never sends mail, never keeps a socket open past its per-port timeout.
 * Fails as a result, not an exception: every refused, silent or broken port is a PortResult.
 * Imports: core.
 */
export * from './probe.ts';
