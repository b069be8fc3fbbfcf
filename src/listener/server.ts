/** One smtp-server per configured listener, with its role's TLS and AUTH rules. */
import type net from 'node:net';
import { SMTPServer } from 'smtp-server';
import type { ListenerConfig } from '../config/index.ts';
import { createConnectionGate, createKnownNetworks, type ConnectionGate, type KnownNetworks } from '../limits/index.ts';
import { sweep, type SlotConnection, type SlotRules } from './slots.ts';
import { patchSmtpServer } from './smtp-server-patch.ts';
import { createSessionHooks, type SessionDeps } from './session.ts';
import { TLS_MIN_VERSION, type TlsRegistry } from './tls.ts';

/** How long a network a login succeeded from keeps its reserved slots (in this process). */
const KNOWN_NETWORK_MS = 30 * 86_400_000;

export interface Listener {
  readonly config: ListenerConfig;
  readonly name: string;
  listen(): Promise<net.AddressInfo>;
  address(): net.AddressInfo | null;
  close(): Promise<void>;
}

export interface ListenerDeps extends Omit<SessionDeps, 'listener' | 'gate' | 'maxMessageSize' | 'knownNetworks'> {
  /** Shared by the listeners of a process; one of its own by default. */
  knownNetworks?: KnownNetworks;
  hostname: string;
  /** smtp.maxMessageSize: the size limit of a listener that sets none of its own. */
  maxMessageSize: number;
  /** The per-IP gate of a listener; defaults to a counter in this process. */
  gateFor?: (listener: ListenerConfig, name: string) => ConnectionGate;
  tls: TlsRegistry;
}

/** A port that cannot be bound: one clear line naming the port and the remedy. */
export class BindError extends Error {
  constructor(l: ListenerConfig, code: string) {
    const where = `${l.host === '::' ? '*' : l.host}:${l.port} (${l.role})`;
    const remedy =
      code === 'EACCES'
        ? `ports below 1024 need root or CAP_NET_BIND_SERVICE (e.g. "setcap cap_net_bind_service=+ep $(command -v node)"), or set another port for this listener in postern.yaml`
        : code === 'EADDRINUSE'
          ? `another program (another MTA such as Postfix or Exim?) already listens there; stop it or set another port for this listener in postern.yaml`
          : code === 'EADDRNOTAVAIL'
            ? `this machine has no such address; fix "host" of this listener in postern.yaml`
            : `see the system error above`;
    super(`cannot listen on ${where}: ${code}: ${remedy}`);
    this.name = 'BindError';
  }
}

export function createListener(config: ListenerConfig, deps: ListenerDeps): Listener {
  patchSmtpServer();
  const name = `${config.role}:${config.port}`;
  const gate = deps.gateFor?.(config, name) ?? createConnectionGate(config.maxConnectionsPerIp, config.maxConnectionsPerNetwork);
  const size = config.maxMessageSize ?? deps.maxMessageSize;
  const knownNetworks = deps.knownNetworks ?? createKnownNetworks({ keepMs: KNOWN_NETWORK_MS });
  const hooks = createSessionHooks({ ...deps, listener: config, gate, maxMessageSize: size, knownNetworks });
  const slots: SlotRules = {
    requireAuth: config.role !== 'mx',
    authTimeoutMs: config.authTimeoutSeconds * 1000,
    maxUnauthenticated: Math.max(1, Math.floor(config.maxConnections * config.unauthenticatedShare)),
    commandMs: config.commandTimeoutSeconds * 1000,
    minDataRate: config.minDataRate,
    dataGraceMs: config.commandTimeoutSeconds * 1000,
    isKnown: (ip) => knownNetworks.isKnown(ip, deps.clock.now()),
    onClosed(reason, ip) {
      deps.metrics?.connections.inc({ listener: name, result: reason });
      deps.logger.warn({ evt: 'slot', listener: name, ip, result: 'closed', reason }, 'connection closed: slot rules');
    },
  };
  const implicit = config.role === 'submissions';
  const pair = deps.tls.defaults();

  const server = new SMTPServer({
    ...hooks,
    name: deps.hostname,
    banner: 'Postern',
    secure: implicit,
    key: pair.key,
    cert: pair.cert,
    minVersion: TLS_MIN_VERSION,
    SNICallback: deps.tls.sniCallback,
    authMethods: ['PLAIN', 'LOGIN'],
    authOptional: config.role === 'mx',
    allowInsecureAuth: false,
    disabledCommands: implicit ? ['STARTTLS'] : [],
    size,
    hideENHANCEDSTATUSCODES: false,
    hideDSN: false,
    hidePIPELINING: false,
    hide8BITMIME: false,
    hideSMTPUTF8: false,
    disableReverseLookup: true,
    useProxy: config.proxyProtocol,
    socketTimeout: config.idleTimeoutSeconds * 1000,
    closeTimeout: 30_000,
    maxClients: config.maxConnections,
    logger: false,
    // Replies go out at once instead of waiting for the client's delayed ACK (Nagle).
    noDelay: true,
    // RFC 5321 4.5.3.1.4: 512 octets per command line; 2048 (Postfix's line_length_limit) leaves
    // room for AUTH PLAIN initial responses and DSN parameters. Longer lines get 421 4.4.2.
    maxCommandLength: 2048,
    greetingDelayMs: config.greetingDelayMs ?? (config.role === 'mx' ? 1000 : 0),
    onMaxClients: () => deps.metrics?.connections.inc({ listener: name, result: 'max-connections' }),
    slots,
  } as ConstructorParameters<typeof SMTPServer>[0]);
  const connections = (server as unknown as { connections: Set<SlotConnection> }).connections;
  const sweeper = setInterval(() => sweep(slots, connections, Date.now()), 1000);
  sweeper.unref();

  deps.tls.onDefaultChange((p) => server.updateSecureContext({ key: p.key, cert: p.cert }));
  server.on('error', (err: Error & { code?: string }) => {
    deps.logger.warn({ evt: 'listener-error', listener: name, err: err.message, code: err.code }, 'connection error');
  });

  return {
    config,
    name,
    async listen() {
      const bind = (host: string) =>
        new Promise<net.AddressInfo>((resolve, reject) => {
          const onError = (err: NodeJS.ErrnoException) => reject(err);
          server.server.once('error', onError);
          server.listen(config.port, host, () => {
            server.server.off('error', onError);
            resolve(server.server.address() as net.AddressInfo);
          });
        });
      try {
        return await bind(config.host);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
        // "::" on a machine without IPv6: every IPv4 address instead.
        if (config.host === '::' && (code === 'EAFNOSUPPORT' || code === 'EADDRNOTAVAIL')) {
          try {
            return await bind('0.0.0.0');
          } catch (err2) {
            throw new BindError(config, (err2 as NodeJS.ErrnoException).code ?? (err2 as Error).message);
          }
        }
        throw new BindError(config, code);
      }
    },
    address: () => (server.server.listening ? (server.server.address() as net.AddressInfo) : null),
    close() {
      clearInterval(sweeper);
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
