/**
 * The registry of every setting: one zod schema with a default and a one-line description per
 * key. docs/configuration.md is generated from it (`npm run docs:config`).
 */
import net from 'node:net';
import os from 'node:os';
import * as z from 'zod';
import { fullHostname } from './hostname.ts';

export const ROLES = ['mx', 'submission', 'submissions'] as const;
export type ListenerRole = (typeof ROLES)[number];

const certPair = z
  .object({
    cert: z.string().min(1).describe('Path of the PEM certificate chain (leaf first).'),
    key: z.string().min(1).describe('Path of the PEM private key.'),
  })
  .strict();

/** "host:port", "[v6]:port" or a bare host (port 25 / 53 added by the user of the value). */
const hostPort = (what: string, defaultPort: number) =>
  z
    .string()
    .regex(/^(\[[0-9a-fA-F:.]+\]|[^\s:[\]]+)(:\d{1,5})?$/, `expected ${what} as HOST:PORT, [IPv6]:PORT or HOST (port ${defaultPort})`);

/** "192.0.2.7", "2001:db8::1", "192.0.2.0/24", "2001:db8::/32". */
function isIpOrCidr(v: string): boolean {
  const [ip = '', bits, ...rest] = v.split('/');
  const family = net.isIP(ip);
  if (!family || rest.length) return false;
  return bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128));
}

export const POOL_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/i;

const poolSchema = z
  .object({
    addresses: z
      .array(z.string().refine((ip) => net.isIP(ip) !== 0, 'expected an IPv4 or IPv6 address'))
      .min(1)
      .describe('Local source addresses of the pool (each must be configured on this host).'),
    helo: z
      .string()
      .regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$/i, 'expected a fully qualified host name')
      .describe("The EHLO name said from the pool's addresses (their PTR should name it)."),
    select: z
      .enum(['hash', 'round-robin'])
      .default('hash')
      .describe('Which address a connection binds: hash of the recipient domain (one destination sees a steady address) or round robin.'),
    concurrency: z
      .number()
      .int()
      .min(1)
      .max(10_000)
      .optional()
      .describe('Delivery attempts running at once from this pool (default: no limit below delivery.concurrency).'),
    fallback: z
      .string()
      .regex(POOL_NAME)
      .optional()
      .describe(
        'While an address of this pool is listed on a blocklist (blocklists.zones), its mail leaves from this pool instead, until it is delisted.',
      ),
  })
  .strict();

/** Pools share no address (else connection reuse and reputation would cross them), and the default pool exists. */
function checkPools(d: { pools: Record<string, { addresses: string[] }>; defaultPool?: string }, ctx: z.RefinementCtx): void {
  const owner = new Map<string, string>();
  for (const [name, p] of Object.entries(d.pools)) {
    for (const a of p.addresses) {
      const key = net.isIPv6(a) ? new net.SocketAddress({ address: a, family: 'ipv6' }).address : a;
      const other = owner.get(key);
      if (other && other !== name)
        ctx.addIssue({ code: 'custom', path: ['pools', name, 'addresses'], message: `address ${a} is also in pool ${other}` });
      owner.set(key, name);
    }
  }
  for (const [name, p] of Object.entries(d.pools as Record<string, { fallback?: string }>)) {
    if (p.fallback !== undefined && (p.fallback === name || !(p.fallback in d.pools))) {
      ctx.addIssue({
        code: 'custom',
        path: ['pools', name, 'fallback'],
        message: `the fallback of pool ${name} must be another pool in delivery.pools: ${p.fallback}`,
      });
    }
  }
  if (d.defaultPool !== undefined && !(d.defaultPool in d.pools)) {
    ctx.addIssue({ code: 'custom', path: ['defaultPool'], message: `no pool named ${d.defaultPool} in delivery.pools` });
  }
}

export const listenerSchema = z
  .object({
    role: z
      .enum(ROLES)
      .describe(
        'mx (port 25: relay only for authenticated clients), submission (STARTTLS, AUTH required) or submissions (implicit TLS, AUTH required).',
      ),
    port: z.number().int().min(0).max(65535).describe('TCP port; 0 picks a free port (tests).'),
    host: z.string().default('::').describe('Address to bind; "::" means every IPv4 and IPv6 address.'),
    proxyProtocol: z
      .union([z.boolean(), z.array(z.string().refine((ip) => net.isIP(ip) !== 0, 'expected an IP address')).min(1)])
      .default(false)
      .describe(
        "Expect a PROXY protocol v1 header (HAProxy send-proxy) before the SMTP session, and take the client address from it: true from every peer, or a list of the load balancers' addresses (other peers connect directly, without a header).",
      ),
    maxConnectionsPerIp: z
      .number()
      .int()
      .min(1)
      .default(50)
      .describe('Simultaneous connections one client address may hold; more get 421 4.7.0.'),
    maxConnectionsPerNetwork: z
      .number()
      .int()
      .min(1)
      .default(100)
      .describe(
        'Simultaneous connections one client network (the /24 of IPv4, the /64 of IPv6) may hold; more get 421 4.7.0, except from a network a login succeeded from lately (a reserved slot).',
      ),
    maxConnections: z.number().int().min(1).default(1000).describe('Simultaneous connections on this listener; more get 421 4.7.0.'),
    unauthenticatedShare: z
      .number()
      .gt(0)
      .max(1)
      .default(0.5)
      .describe(
        'Submission ports: the share of maxConnections that sessions not yet authenticated may hold; a new connection beyond it closes the oldest unauthenticated session (421 4.7.0; from networks no login came from first), so a client that authenticates at once always finds a slot.',
      ),
    authTimeoutSeconds: z
      .number()
      .min(1)
      .default(30)
      .describe(
        'Submission ports: a session must authenticate within this many seconds of connecting (STARTTLS included), else 421 4.7.0 and the connection is closed.',
      ),
    commandTimeoutSeconds: z
      .number()
      .min(1)
      .default(30)
      .describe(
        'A command line must arrive whole within this many seconds of its first byte (else 421 4.4.2), so a client trickling a byte at a time holds no slot.',
      ),
    minDataRate: z
      .number()
      .int()
      .min(1)
      .default(1024)
      .describe(
        'Bytes a second a message must keep up during DATA, on average, once DATA has run longer than commandTimeoutSeconds; slower gets 421 4.4.2.',
      ),
    idleTimeoutSeconds: z
      .number()
      .min(1)
      .default(300)
      .describe('Seconds a client may stay silent before the connection is closed (RFC 5321 suggests 5 minutes).'),
    maxMessageSize: z
      .number()
      .int()
      .min(1024)
      .optional()
      .describe('Largest message in bytes on this listener (advertised as SIZE); defaults to smtp.maxMessageSize.'),
    greetingDelayMs: z
      .number()
      .int()
      .min(0)
      .max(30000)
      .optional()
      .describe('Wait this long before the greeting and refuse clients that talk first; defaults to 1000 on mx, 0 on submission ports.'),
  })
  .strict();
export type ListenerConfig = z.infer<typeof listenerSchema>;

const defaultListeners: z.input<typeof listenerSchema>[] = [
  { role: 'submission', port: 587 },
  { role: 'submission', port: 2525 },
  { role: 'submissions', port: 465 },
  { role: 'mx', port: 25 },
];

export const configSchema = z
  .object({
    hostname: z
      .string()
      .min(1)
      .default(() => fullHostname())
      .describe(
        'Name used in the greeting, the EHLO reply, Received lines and Message-IDs; also the server name mail programs are told (autoconfig, Autodiscover, settings page, SRV records). Default: the fully qualified name of the machine (as `hostname -f`); a name without a dot is warned about by `serve` and `config check`.',
      ),
    workers: z
      .union([z.literal('auto'), z.number().int().min(1).max(64)])
      .default(1)
      .describe(
        'Server processes sharing the listening ports (node:cluster); auto = one per CPU core. With the SQLite store keep 1: two processes share its single write lock and spend about a third more CPU per message than one (measured, docs/benchmarks.md).',
      ),
    dataDir: z.string().min(1).default('./data').describe('Folder for the SQLite database, the spool and the generated certificate.'),
    listeners: z
      .array(listenerSchema)
      .min(1)
      .default(defaultListeners.map((l) => listenerSchema.parse(l)))
      .describe('Ports to listen on, each with a role.'),
    tls: z
      .object({
        cert: z
          .string()
          .min(1)
          .optional()
          .describe('Default certificate chain (PEM). Without cert and key a self-signed ECDSA certificate is generated in dataDir/tls.'),
        key: z.string().min(1).optional().describe('Private key of the default certificate (PEM).'),
        sni: z
          .record(z.string(), certPair)
          .default({})
          .describe('Certificates by server name (SNI), for example one per hosted domain: { "mail.example.com": { cert, key } }.'),
        reloadIntervalSeconds: z
          .number()
          .min(0.1)
          .default(30)
          .describe('How often certificate files are checked for changes; changed files are loaded without a restart.'),
      })
      .strict()
      .refine((t) => !!t.cert === !!t.key, { message: 'tls.cert and tls.key must be given together' })
      .default({ sni: {}, reloadIntervalSeconds: 30 })
      .describe('TLS certificates. TLS 1.2 is the minimum everywhere.'),
    store: z
      .object({
        kind: z
          .enum(['sqlite', 'postgres'])
          .default('sqlite')
          .describe(
            'Where state lives: sqlite (embedded, one machine) or postgres (several nodes share one database; see docs/cluster.md).',
          ),
        path: z.string().optional().describe('SQLite database file; defaults to dataDir/postern.db.'),
        url: z
          .string()
          .regex(/^postgres(ql)?:\/\//, 'expected postgres://USER@HOST[:PORT]/DB')
          .optional()
          .describe(
            'PostgreSQL connection URL (postgres://USER[:PASSWORD]@HOST[:PORT]/DB[?sslmode=...]); required with kind postgres. $POSTERN_STORE_URL overrides it, so a password need not be in the file.',
          ),
        schema: z
          .string()
          .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'lower-case letters, digits and _')
          .optional()
          .describe("PostgreSQL schema to keep the tables in (default: the role's search_path, usually public); made when missing."),
        poolSize: z.number().int().min(1).max(200).default(10).describe('PostgreSQL connections per server process.'),
      })
      .strict()
      .refine((s) => s.kind !== 'postgres' || !!s.url, { message: 'store.url is required with store.kind postgres', path: ['url'] })
      .default({ kind: 'sqlite', poolSize: 10 })
      .describe('The persistent store.'),
    nodeName: z
      .string()
      .min(1)
      .max(100)
      .regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces')
      .default(os.hostname())
      .describe(
        "This node's name among the nodes sharing one PostgreSQL store: it owns the delivery leases this node takes (a restarted node gives its own back at once; a dead node's run out after delivery.leaseSeconds). Must differ between nodes; the machine's host name by default.",
      ),
    smtp: z
      .object({
        maxMessageSize: z
          .number()
          .int()
          .min(1024)
          .default(50 * 1024 * 1024)
          .describe('Largest accepted message in bytes (SIZE); larger ones get 552 5.3.4.'),
        maxRecipients: z.number().int().min(1).default(100).describe('Recipients per message; more get 452 4.5.3.'),
        bareLineEndings: z
          .enum(['normalize', 'reject'])
          .default('normalize')
          .describe('A bare LF or bare CR in DATA is turned into CRLF (normalize) or refused with 550 5.5.2 (reject).'),
        maxLineLength: z
          .number()
          .int()
          .min(1000)
          .default(1_000_000)
          .describe('Longest line of a message body in bytes; longer ones get 550 5.5.2 (RFC 5322 allows 998).'),
      })
      .strict()
      .default({ maxMessageSize: 50 * 1024 * 1024, maxRecipients: 100, bareLineEndings: 'normalize', maxLineLength: 1_000_000 })
      .describe('SMTP protocol limits.'),
    queue: z
      .object({
        inlineBodyMaxBytes: z
          .number()
          .int()
          .min(0)
          .max(16 * 1024 * 1024)
          .default(256 * 1024)
          .describe(
            'Bodies up to this size are stored in the queue row itself (one commit makes them durable, no spool file); larger ones stream to a spool file. Also the most a session holds in memory. 0 = always a file.',
          ),
        minFreeMegabytes: z
          .number()
          .min(0)
          .default(256)
          .describe(
            '/readyz answers not ready ("disk": "low on disk space") while the file system of dataDir has less free space than this, and ("cannot write") while a small file cannot be written and fsynced there; ready again as soon as it can.',
          ),
      })
      .strict()
      .default({ inlineBodyMaxBytes: 256 * 1024, minFreeMegabytes: 256 })
      .describe('The queue.'),
    auth: z
      .object({
        cacheTtlSeconds: z
          .number()
          .min(0)
          .default(900)
          .describe('How long a verified login is remembered in memory (0 turns the cache off).'),
        cacheMaxEntries: z.number().int().min(0).default(100_000).describe('Most verified logins remembered at once.'),
        maxFailures: z
          .number()
          .int()
          .min(1)
          .max(100)
          .default(10)
          .describe('Consecutive failed logins that lock a mailbox (PCI DSS 4.0 8.3.4 asks for at most 10).'),
        lockMinutes: z
          .number()
          .min(1)
          .default(30)
          .describe(
            'How long a locked mailbox refuses logins (at least 30 for PCI DSS), except from addresses it logged in from successfully (see knownIpDays). `postern mailbox unlock` ends it early.',
          ),
        knownIpDays: z
          .number()
          .min(0)
          .default(30)
          .describe(
            'A lock does not apply to client networks (/24, /64) from which the mailbox logged in successfully within this many days, so an attacker cannot lock the real user out.',
          ),
        knownIpMaxFailures: z
          .number()
          .int()
          .min(1)
          .default(50)
          .describe(
            "A known network is spared the lock only until this many logins from it failed since its last success: a co-tenant on a shared address (a web server) cannot guess a neighbour's password forever.",
          ),
        ipFailures: z
          .number()
          .int()
          .min(1)
          .default(30)
          .describe(
            'Spraying failures from one client address within ipWindowMinutes that ban the address (failures for unknown logins, and failures for any mailbox once the address failed for sprayAccounts different mailboxes; never failures from a network the mailbox is known on). A banned address gets 454 4.7.0 at AUTH (429 on the send API) saying when the ban ends, except for logins to mailboxes that logged in from its network before, and site tokens. See docs/operations.md, "Who is refused when".',
          ),
        sprayAccounts: z
          .number()
          .int()
          .min(1)
          .default(3)
          .describe(
            'Failures for this many different mailboxes from one address within ipWindowMinutes make its failures count toward ipFailures (spraying); failures on fewer mailboxes are left to the mailbox lock.',
          ),
        trustedNetworks: z
          .array(z.string().refine(isIpOrCidr, 'expected an IP address or a CIDR network such as 192.0.2.0/24'))
          .default(['127.0.0.0/8', '::1'])
          .describe(
            "Client addresses (IP addresses, CIDR networks) that are never banned and whose failures never count toward a ban: this machine (the hosting server's webmail and scripts) by default. The mailbox lock still applies to logins from them.",
          ),
        ipWindowMinutes: z
          .number()
          .min(1)
          .default(10)
          .describe('The window in which ipFailures are counted (fixed window starting at the first failure).'),
        ipBanMinutes: z
          .number()
          .min(1)
          .default(60)
          .describe('How long a banned client address is refused (see ipFailures). `postern ban remove IP` ends it early.'),
        failureDelayMs: z.number().int().min(0).max(30_000).default(1000).describe('Tarpit: a failed login is answered after this delay.'),
        dovecot: z
          .object({
            socket: z
              .string()
              .min(1)
              .refine(
                (v) => v.startsWith('/') || /^(\[[0-9a-fA-F:.]+\]|[^\s:[\]/]+):\d{1,5}$/.test(v),
                'expected a socket path (/run/dovecot/auth-client) or HOST:PORT',
              )
              .describe(
                "Dovecot's auth client socket (a path such as /run/dovecot/auth-client, or HOST:PORT of an inet_listener of its auth service). Mailboxes without a password hash, and unknown addresses of hosted domains (which become mailboxes at their first accepted login), are checked by Dovecot.",
              ),
            timeoutMs: z
              .number()
              .int()
              .min(100)
              .max(60_000)
              .default(5000)
              .describe("How long a login waits for Dovecot's answer; no answer (or Dovecot down) is 454 4.7.0, never a pass."),
            cacheSeconds: z
              .number()
              .min(0)
              .max(3600)
              .default(60)
              .describe(
                'How long a login Dovecot accepted is remembered (0: Dovecot is asked every time). A password changed in Dovecot takes effect within this time; a suspension or removal in Postern at once.',
              ),
          })
          .strict()
          .optional()
          .describe(
            'Dovecot as the password back end (what Postfix calls smtpd_sasl_type = dovecot). Unset: Postern checks only its own hashes.',
          ),
      })
      .strict()
      .prefault({})
      .describe('Authentication.'),
    delivery: z
      .object({
        enabled: z
          .boolean()
          .default(true)
          .describe('Deliver queued mail (off: accept and queue only, for example on a node that only takes mail in).'),
        smarthost: hostPort('the smarthost', 25)
          .optional()
          .describe('Send all outgoing mail through this relay (HOST:PORT) instead of looking up MX records; per-domain routes still win.'),
        smarthostTls: z
          .enum(['none', 'opportunistic', 'required'])
          .default('opportunistic')
          .describe('TLS toward the smarthost: required also verifies its certificate.'),
        concurrency: z.number().int().min(1).max(10_000).default(100).describe('Delivery attempts running at once, in total.'),
        perDestinationConcurrency: z
          .number()
          .int()
          .min(1)
          .max(1000)
          .default(20)
          .describe('Delivery attempts running at once to one recipient domain.'),
        window: z
          .number()
          .int()
          .min(1)
          .max(100_000)
          .default(2000)
          .describe('Most due recipients claimed and held in memory at once; the rest of the queue stays in the store.'),
        leaseSeconds: z
          .number()
          .int()
          .min(5)
          .default(1200)
          .describe(
            "A claimed recipient whose attempt has not ended after this long is claimed again, by any node (a crashed node's work comes back by itself). Must be longer than the longest attempt: more than connectTimeoutSeconds + greetingTimeoutSeconds + commandTimeoutSeconds + dataTimeoutSeconds.",
          ),
        pollIntervalMs: z
          .number()
          .int()
          .min(10)
          .max(60_000)
          .default(1000)
          .describe('How often the store is asked for due recipients when nothing was just queued.'),
        retryMinutes: z
          .array(z.number().positive())
          .min(1)
          .default([5, 10, 20, 40, 60, 60, 60, 60, 240])
          .describe('Waits before the 1st, 2nd, ... retry of a deferred recipient, in minutes; the last one repeats.'),
        expireDays: z
          .number()
          .positive()
          .default(5)
          .describe('A recipient still deferred this long after the message arrived fails with 4.4.7 and is bounced.'),
        delayWarningHours: z
          .number()
          .min(0)
          .default(4)
          .describe('Send one delay warning (a DSN with action delayed) to the sender after this long, when NOTIFY allows it; 0 = never.'),
        mxPort: z
          .number()
          .int()
          .min(1)
          .max(65535)
          .default(25)
          .describe('TCP port of MX hosts. Always 25 on the Internet; tests and labs point it at their own servers.'),
        allowLoopback: z
          .boolean()
          .default(false)
          .describe(
            'Deliver to MX hosts on loopback addresses (tests and labs only). Routes and the smarthost are chosen by the operator and may always be local.',
          ),
        allowPrivate: z.boolean().default(false).describe('Deliver to MX hosts on private addresses (RFC 1918, ULA, link-local).'),
        mtaSts: z
          .boolean()
          .default(true)
          .describe(
            'Honour MTA-STS policies (RFC 8461) of recipient domains: in enforce mode only policy-listed MX hosts with a valid certificate.',
          ),
        connectTimeoutSeconds: z
          .number()
          .positive()
          .default(30)
          .describe(
            'Setting up the TCP connection to a remote host (with the name lookup of a route or smarthost given by name); the greeting then has greetingTimeoutSeconds.',
          ),
        greetingTimeoutSeconds: z
          .number()
          .positive()
          .default(120)
          .describe(
            "Waiting for the remote server's 220 greeting once the TCP connection is up, counted apart from connectTimeoutSeconds; a STARTTLS handshake gets the same time. RFC 5321 section 4.5.3.2.1 suggests 5 minutes; the default of 2 minutes keeps the default leaseSeconds above the longest attempt.",
          ),
        commandTimeoutSeconds: z
          .number()
          .positive()
          .default(300)
          .describe('Waiting for the reply to a command (RFC 5321 section 4.5.3.2).'),
        dataTimeoutSeconds: z
          .number()
          .positive()
          .default(600)
          .describe('Sending the message and waiting for the reply after the final dot.'),
        reuseMaxMessages: z
          .number()
          .int()
          .min(1)
          .default(100)
          .describe('Messages sent over one connection to a remote host before it is closed.'),
        reuseIdleSeconds: z
          .number()
          .min(0)
          .default(5)
          .describe('How long an idle connection is kept for the next message to the same host (0: close at once).'),
        publicAddresses: z
          .array(z.string().regex(/^[0-9a-fA-F:.]+$/, 'expected an IP address'))
          .default([])
          .describe(
            'The public IP addresses this server sends from, as the Internet sees them (for the SPF, PTR and HELO checks of `postern domain check`).',
          ),
        pools: z
          .record(z.string().regex(POOL_NAME, 'expected a pool name of letters, digits, dot, dash and underscore'), poolSchema)
          .default({})
          .describe(
            "Egress pools: named sets of local source addresses with their own HELO name, so one customer's reputation does not become another's: { bulk: { addresses: [192.0.2.10, 2001:db8::10], helo: bulk.example.net } }. A customer, domain or site is put in a pool with `postern pool assign`.",
          ),
        dane: z
          .boolean()
          .default(true)
          .describe(
            'DANE (RFC 7672): TLSA records of MX hosts in DNSSEC-signed zones make TLS required and the certificate must match them. Only in effect when dns.validating is set and every DNS server is trusted (loopback or dns.trustedResolvers); `postern config check` says whether it is.',
          ),
        daneDomains: z
          .record(z.string(), z.enum(['off', 'required']))
          .default({})
          .describe(
            'Per recipient domain: off (never DANE, for a domain with broken TLSA records) or required (defer unless its hosts have usable TLSA records; also checks the TLSA records of a route\'s host): { "partner.example": "required" }.',
          ),
        defaultPool: z
          .string()
          .regex(POOL_NAME)
          .optional()
          .describe(
            "The pool of mail whose customer, sender domain and site have none assigned; unset: such mail leaves from the host's default address with `hostname` as HELO.",
          ),
      })
      .strict()
      .superRefine(checkPools)
      .prefault({})
      .describe('Outgoing delivery.'),
    dns: z
      .object({
        servers: z
          .array(hostPort('a DNS server', 53))
          .default([])
          .describe('DNS servers for MX, address and MTA-STS lookups ("127.0.0.1:5353", "[::1]:53"); empty = the system resolver.'),
        timeoutMs: z.number().int().min(10).default(5000).describe('Timeout of one DNS query try.'),
        tries: z.number().int().min(1).max(10).default(2).describe('Tries of one DNS query.'),
        validating: z
          .boolean()
          .default(false)
          .describe(
            'The DNS servers validate DNSSEC and set the AD bit on authentic answers (Unbound, Knot Resolver, BIND with validation). Needed for DANE.',
          ),
        trustedResolvers: z
          .array(z.string().refine((ip) => net.isIP(ip) !== 0, 'expected an IP address'))
          .default([])
          .describe(
            'Resolvers off this host whose AD bit is believed (the path to them must be safe, for example a private network). A resolver on loopback is always believed; any other one turns DANE off.',
          ),
      })
      .strict()
      .prefault({})
      .describe('DNS resolution for delivery.'),
    blocklists: z
      .object({
        zones: z
          .array(
            z
              .object({
                zone: z
                  .string()
                  .regex(/^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$/i, 'expected a DNS zone such as zen.spamhaus.org')
                  .describe("The blocklist's DNS zone."),
                codes: z
                  .record(
                    z.string().refine((ip) => net.isIPv4(ip), 'expected an IPv4 return code such as 127.0.0.2'),
                    z.string(),
                  )
                  .refine((c) => Object.keys(c).length > 0, 'give at least one return code')
                  .describe(
                    'The answers that mean "listed", with what each means: { "127.0.0.2": "SBL", "127.0.0.4": "XBL" }. Other answers (a list\'s "query refused" codes) are not listings.',
                  ),
              })
              .strict(),
          )
          .default([])
          .describe('DNS blocklists asked about every egress pool address (delivery.pools); none: no checks.'),
        intervalMinutes: z.number().min(1).default(30).describe('How often every pool address is checked.'),
        webhookUrl: z
          .string()
          .url()
          .optional()
          .describe('Also POST a JSON notice here when a listing appears (bounce.postmaster gets a mail in any case).'),
        senderHours: z
          .number()
          .min(1)
          .max(168)
          .default(6)
          .describe("A new listing's notice names the top senders of the pool over this many hours before it."),
      })
      .strict()
      .prefault({})
      .describe('Watching our own egress addresses on DNS blocklists.'),
    bounce: z
      .object({
        postmaster: z
          .string()
          .regex(/^[^\s@]+@[^\s@]+$/, 'expected an address')
          .optional()
          .describe('Where a bounce that cannot be delivered goes, once; without it such a bounce is logged and dropped.'),
        from: z
          .string()
          .regex(/^[^\s@]+@[^\s@]+$/, 'expected an address')
          .optional()
          .describe('From address of bounces (default MAILER-DAEMON@hostname).'),
      })
      .strict()
      .prefault({})
      .describe('Delivery status notifications (bounces).'),
    containment: z
      .object({
        enabled: z
          .boolean()
          .default(true)
          .describe(
            'Put a mailbox on hold when it shows signs of a stolen password (below), and notify the customer contact and bounce.postmaster.',
          ),
        minRecipientsPerHour: z
          .number()
          .int()
          .min(1)
          .default(500)
          .describe('Recipients in one clock hour above which the baseline check applies.'),
        baselineFactor: z
          .number()
          .min(1)
          .default(10)
          .describe("...and which must also exceed this many times the mailbox's usual hour (its average over baselineDays)."),
        baselineDays: z.number().int().min(1).max(90).default(7).describe('Days of history that make the baseline.'),
        maxDomainsPerHour: z
          .number()
          .int()
          .min(1)
          .default(150)
          .describe('Distinct recipient domains in one clock hour above which the mailbox is held.'),
        maxNetworksPerHour: z
          .number()
          .int()
          .min(1)
          .default(10)
          .describe('Networks (/24, /48) it logged in from within one clock hour above which the mailbox is held.'),
        maxFailureRatio: z
          .number()
          .min(0)
          .max(1)
          .default(0.5)
          .describe('Share of its delivery attempts in one clock hour that were deferred or failed above which the mailbox is held...'),
        minOutcomes: z.number().int().min(1).default(50).describe('...once it has at least this many attempts in the hour.'),
        maxSpamPerHour: z
          .number()
          .int()
          .min(1)
          .default(3)
          .describe(
            'When this many messages of a mailbox in one clock hour were held or refused by the scanner (spam or a virus), the mailbox is held.',
          ),
        maxHeldPerMailbox: z
          .number()
          .int()
          .min(0)
          .default(1000)
          .describe(
            'Most messages of one mailbox kept in the hold queue (by a hold or a limit); more get 451 4.7.1, so a held mailbox cannot fill the disk.',
          ),
        onHold: z
          .enum(['hold', 'refuse'])
          .default('hold')
          .describe('New mail from a held mailbox: accepted into the hold queue, or refused with 550 5.7.1.'),
      })
      .strict()
      .prefault({})
      .describe('Compromise containment.'),
    suppression: z
      .object({
        days: z
          .number()
          .min(0)
          .default(30)
          .describe(
            "Days a recipient stays suppressed for a customer after a hard bounce (the remote server said the mailbox does not exist or is disabled: 5.1.1, 5.1.2, 5.1.10, 5.2.1, 550 user unknown); that customer's submissions to it are refused at RCPT with 550 5.1.1 until then, or until `postern suppression remove`. 0: hard bounces suppress nothing (entries added with `postern suppression add` still apply).",
          ),
      })
      .strict()
      .prefault({})
      .describe('The suppression list: recipients that hard-bounced, per customer.'),
    dkim: z
      .object({
        enabled: z
          .boolean()
          .default(true)
          .describe(
            'Sign outgoing mail of authenticated senders and sites with the active key of its From domain (and make a key for each new domain).',
          ),
        ed25519: z
          .boolean()
          .default(false)
          .describe(
            'Also make Ed25519 keys (RFC 8463) and add a second signature with them; receivers that do not know Ed25519 still check the RSA one.',
          ),
        rsaBits: z
          .number()
          .int()
          .refine((n) => n === 1024 || n === 2048 || n === 3072 || n === 4096, 'expected 1024, 2048, 3072 or 4096')
          .default(2048)
          .describe('Size of new RSA keys (2048 fits one DNS TXT record of several strings).'),
        retireDays: z
          .number()
          .min(0)
          .default(7)
          .describe(
            'Days a replaced key stays "retiring" (its record must stay published: mail signed with it is still in transit) before it is retired; at least delivery.expireDays.',
          ),
        rotateDays: z
          .number()
          .min(0)
          .default(0)
          .describe('Make a new pending key when the active one is this many days old (0: rotate only with `postern dkim rotate`).'),
        autoActivate: z
          .boolean()
          .default(true)
          .describe('Activate a pending key once its record is published in DNS (checked through dns.servers every checkMinutes).'),
        checkMinutes: z
          .number()
          .min(0.05)
          .default(10)
          .describe('How often the server checks pending keys, retiring keys and the rotation age.'),
        keyCacheSeconds: z
          .number()
          .min(0)
          .default(30)
          .describe(
            "How long a process keeps a domain's signing keys in memory. A key activated or retired by the CLI, the API, the console or another node is used at once (the store announces DKIM changes: PostgreSQL by NOTIFY, SQLite by a version its triggers keep, polled 4 times a second); this bound is only the fallback.",
          ),
      })
      .strict()
      .prefault({})
      .describe('DKIM signing and key rotation.'),
    scan: z
      .object({
        enabled: z
          .boolean()
          .default(false)
          .describe('Scan authenticated, site and relayed mail with rspamd at the end of DATA (needs a running rspamd: docs/scanning.md).'),
        url: z
          .string()
          .regex(/^http:\/\/[^/]+\/?$/, 'expected http://HOST:PORT (rspamd speaks plain HTTP; IPv6 in brackets)')
          .default('http://127.0.0.1:11333')
          .describe("rspamd's normal worker (POST /checkv2), http://HOST:PORT."),
        timeoutSeconds: z.number().positive().default(10).describe('How long after the end of a message rspamd may take to answer.'),
        maxBytes: z
          .number()
          .int()
          .min(1024)
          .default(10 * 1024 * 1024)
          .describe('Larger messages are not scanned (and the log says so).'),
        onFailure: z
          .enum(['tempfail', 'accept'])
          .default('tempfail')
          .describe('When rspamd fails or does not answer: tempfail (451 4.7.0) or accept and log.'),
        breakerFailures: z
          .number()
          .int()
          .min(1)
          .default(5)
          .describe('Failures in a row after which rspamd is not asked for breakerSeconds (onFailure applies meanwhile).'),
        breakerSeconds: z.number().positive().default(30).describe('How long a failing rspamd is left alone.'),
        addHeaderScore: z.number().default(6).describe('From this score the message gets X-Spam-Status: Yes.'),
        holdScore: z
          .number()
          .default(10)
          .describe('From this score the message is held for the postmaster (and counts as a compromise signal).'),
        rejectScore: z
          .number()
          .default(15)
          .describe(
            "From this score the message is refused (550 5.7.1 with a reference). rspamd's own reject and soft reject actions also apply; a virus is always refused.",
          ),
        customers: z
          .record(
            z.string(),
            z
              .object({
                addHeaderScore: z.number().optional(),
                holdScore: z.number().optional(),
                rejectScore: z.number().optional(),
              })
              .strict(),
          )
          .default({})
          .describe('Other thresholds for some customers (a newsletter sender may get a higher one): { "news-co": { rejectScore: 25 } }.'),
      })
      .strict()
      .prefault({})
      .describe('Outbound content scanning with rspamd.'),
    clients: z
      .object({
        host: z
          .string()
          .min(1)
          .optional()
          .describe('The server name mail programs are told to use for outgoing mail (it must be on the certificate). Default: hostname.'),
        webHost: z
          .string()
          .min(1)
          .optional()
          .describe(
            "The name of this server's HTTPS listener that the autoconfig.DOMAIN and autodiscover.DOMAIN names point to (CNAME). Default: clients.host.",
          ),
        provider: z
          .string()
          .min(1)
          .optional()
          .describe("The provider's name as mail programs and the settings page show it. Default: hostname."),
        incoming: z
          .array(
            z
              .object({
                protocol: z.enum(['imap', 'pop3']).describe('imap or pop3.'),
                host: z.string().min(1).describe('Server name.'),
                port: z
                  .number()
                  .int()
                  .min(1)
                  .max(65535)
                  .describe('Port (993 for IMAP over TLS, 995 for POP3 over TLS, 143/110 with STARTTLS).'),
                security: z.enum(['SSL/TLS', 'STARTTLS']).describe('Implicit TLS or STARTTLS.'),
              })
              .strict(),
          )
          .default([])
          .describe(
            'Incoming mail servers the provider runs (Postern does not serve mailboxes), listed in autoconfig, Autodiscover, the Apple profile and the settings page; the Apple profile needs one.',
          ),
      })
      .strict()
      .prefault({})
      .describe('What mail programs are told (autoconfig, Autodiscover, the Apple profile, the settings page).'),
    web: z
      .object({
        enabled: z.boolean().default(true).describe('Serve HTTPS (the send API at /api/v1/messages) on the port below.'),
        port: z.number().int().min(0).max(65535).default(8443).describe('TCP port of the HTTPS listener; 0 picks a free port (tests).'),
        host: z.string().default('::').describe('Address to bind; "::" means every IPv4 and IPv6 address.'),
        maxConnections: z.number().int().min(1).default(1000).describe('Simultaneous HTTPS connections.'),
        maxConnectionsPerIp: z
          .number()
          .int()
          .min(1)
          .default(50)
          .describe('Simultaneous HTTPS connections of one client address; more are closed at once.'),
        metricsAllow: z
          .array(z.string().refine(isIpOrCidr, 'expected an IP address or a CIDR network such as 192.0.2.0/24'))
          .default(['127.0.0.0/8', '::1'])
          .describe(
            'Client addresses (IP addresses, CIDR networks) that may read /metrics; others get 404. /healthz and /readyz answer anyone. A proxy on this machine makes every client look like loopback: keep /metrics out of what it forwards.',
          ),
      })
      .strict()
      .prefault({})
      .describe('The HTTPS listener (TLS with the certificates of tls.*, TLS 1.2 at least).'),
    adminApi: z
      .object({
        enabled: z
          .boolean()
          .default(true)
          .describe(
            'Serve the admin API (/api/v1/customers, /domains, ... with tokens of `postern token add`; docs/api.md) on the HTTPS listener.',
          ),
        maxBodyBytes: z
          .number()
          .int()
          .min(1024)
          .max(16 * 1024 * 1024)
          .default(65536)
          .describe('Largest JSON request body of the admin API, in bytes; larger ones get 413.'),
      })
      .strict()
      .prefault({})
      .describe('The admin HTTP API on the web listener (never on the SMTP ports or the sendmail socket).'),
    console: z
      .object({
        enabled: z
          .boolean()
          .default(true)
          .describe(
            'Serve the web console at /console on the HTTPS listener: operators sign in with an operator API token, customers with a customer token or a mailbox login (docs/console.md).',
          ),
        sessionHours: z
          .number()
          .min(0.25)
          .max(24 * 30)
          .default(12)
          .describe('A console session ends this many hours after signing in, however active.'),
        idleMinutes: z
          .number()
          .min(1)
          .max(24 * 60)
          .default(30)
          .describe('A console session ends after this many minutes without a request.'),
        twoFactor: z
          .object({
            required: z
              .array(z.enum(['operator', 'customer', 'mailbox']))
              .default([])
              .describe(
                'The roles that must sign in with a second factor (TOTP): who has none set up is led through setting it up right after the first factor, before any page. Everyone may set one up under Security.',
              ),
            issuer: z
              .string()
              .min(1)
              .max(64)
              .default('Postern')
              .describe("The name authenticator apps show for the console's codes (with the token name or the mailbox address)."),
          })
          .strict()
          .prefault({})
          .describe('Two-factor sign-in to the console (TOTP, RFC 6238).'),
      })
      .strict()
      .prefault({})
      .describe('The web console (server-rendered pages, no script) on the web listener.'),
    local: z
      .object({
        socket: z
          .string()
          .min(1)
          .optional()
          .describe(
            'Unix socket where `postern sendmail` hands mail to the running server (mode 0666: site tokens authenticate). Default: dataDir/postern.sock.',
          ),
        dropDir: z
          .string()
          .min(1)
          .optional()
          .describe(
            'Drop folder where `postern sendmail` writes mail while the server cannot be reached (mode 1733: site users can write but not list or read). Default: dataDir/maildrop.',
          ),
        dropScanSeconds: z
          .number()
          .min(1)
          .default(30)
          .describe('How often the drop folder is checked for mail (it is also taken in at start-up).'),
        dropRetryHours: z
          .number()
          .min(1)
          .default(120)
          .describe(
            'A dropped message refused with a temporary error (a limit) is tried again at each scan, and bounced after this many hours.',
          ),
      })
      .strict()
      .prefault({})
      .describe('Mail from local websites: the sendmail socket and the drop folder.'),
    secrets: z
      .object({
        keyFile: z
          .string()
          .min(1)
          .optional()
          .describe(
            'File with the 32-byte key (base64) that encrypts stored secrets such as route passwords; made with mode 0600 on first use. Default: dataDir/secrets.key. Back it up with the database.',
          ),
      })
      .strict()
      .prefault({})
      .describe('Encryption of stored secrets.'),
    tracking: z
      .object({
        enabled: z
          .boolean()
          .default(true)
          .describe(
            "Keep each message's life (accepted, every attempt and reply, delivered, deferred, bounced, held, released) for `postern track`, written in the queue's own transactions.",
          ),
        retentionDays: z
          .number()
          .positive()
          .default(30)
          .describe('Tracked messages older than this are deleted (with their events) by the prune.'),
        maxBytes: z
          .number()
          .int()
          .min(1024 * 1024)
          .default(1024 * 1024 * 1024)
          .describe(
            'Most storage tracking may use, estimated as the text of each row plus a fixed overhead (256 bytes a message, 48 a recipient, 96 an event); over it, the oldest messages are deleted first.',
          ),
        pruneMinutes: z
          .number()
          .min(0.05)
          .default(60)
          .describe(
            'How often the server that serves the local channel prunes tracking down to retentionDays and maxBytes (also once at start).',
          ),
      })
      .strict()
      .prefault({})
      .describe('Message tracking: where is my mail?'),
    webhooks: z
      .object({
        enabled: z
          .boolean()
          .default(true)
          .describe(
            "Record delivered, deferred, bounced, held and limit-reached events for the customers' webhook endpoints, and send them from the process that serves the local channel (docs/webhooks.md).",
          ),
        allowInsecure: z
          .boolean()
          .default(false)
          .describe('Accept http:// endpoint URLs (tests and labs only); otherwise only https:// endpoints are added and sent to.'),
        allowNetworks: z
          .array(z.string().refine(isIpOrCidr, 'expected an IP address or a CIDR network such as 192.0.2.0/24'))
          .default([])
          .describe(
            'Networks (IP addresses, CIDR) that endpoints may be on besides public addresses. Endpoints whose host is or resolves to a loopback, private, link-local, unique-local, multicast or other special address are refused when added and at every send (the host is resolved once per send, every address checked, and the request goes to the checked address); list an internal network here only if customers may reach it.',
          ),
        maxAttempts: z
          .number()
          .int()
          .min(1)
          .max(100)
          .default(12)
          .describe('Attempts of one event to one endpoint before it is marked failed.'),
        retrySeconds: z
          .array(z.number().positive())
          .min(1)
          .default([30, 120, 600, 3600, 21600])
          .describe(
            'Waits before the 1st, 2nd, ... retry, in seconds (each with up to 20% jitter); the last one repeats. A Retry-After of a 429 or 503 answer is honoured instead (at most a day).',
          ),
        timeoutSeconds: z
          .number()
          .positive()
          .max(60)
          .default(10)
          .describe('How long an endpoint may take to answer; longer counts as a failed attempt.'),
        concurrency: z.number().int().min(1).max(1000).default(10).describe('Webhook requests running at once.'),
        pollIntervalMs: z
          .number()
          .int()
          .min(10)
          .max(60_000)
          .default(1000)
          .describe('How often the outbox is checked for due deliveries when nothing was just recorded.'),
        keepDays: z
          .number()
          .positive()
          .default(7)
          .describe('Delivered and failed deliveries stay in the log (`postern webhook log`) this long.'),
      })
      .strict()
      .prefault({})
      .describe("Webhooks: signed event notifications to customers' HTTPS endpoints."),
    log: z
      .object({
        level: z
          .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
          .default('info')
          .describe('Lowest level written to standard output as JSON lines.'),
      })
      .strict()
      .default({ level: 'info' })
      .describe('Logging.'),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
