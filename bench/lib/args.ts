/**
 * Command line of `npm run bench`: parsing, validation and the loopback-only rule.
 * A bad flag is one line on stderr and exit code 64; nothing is started.
 */
import net from 'node:net';

export type Mode = 'reuse' | 'newconn';
export type TlsMode = 'starttls' | 'implicit';

export interface Target {
  host: string;
  port: number;
}

export interface BenchOptions {
  conns: number[];
  sizes: number[];
  modes: Mode[];
  messages: number;
  warmup: number;
  json: boolean;
  target: Target | null; // null: spawn Postern
  user: string;
  pass: string;
  from: string;
  to: string[];
  tls: TlsMode;
  ehlo: string;
  maxSeconds: number; // per cell (measured part)
  maxTotalSeconds: number; // whole run; later cells are skipped
  cmdTimeoutSeconds: number;
  maxErrors: number;
  cooldownMs: number;
  tlsCert: string | null; // spawned Postern only
  tlsKey: string | null;
  cpuProf: string | null; // spawned Postern only: folder for node --cpu-prof
  serverPids: number[]; // --target: processes (with their descendants) whose CPU is counted as the server's
  workers: number | 'auto' | null; // spawned Postern only: its `workers` setting (null: Postern's default)
  sign: 'off' | 'rsa' | 'both'; // spawned Postern only: DKIM signing with activated keys
  keep: boolean; // keep the spawned Postern's temp folder
  threads: boolean; // per-thread CPU of the server (process tree from /proc)
  label: string;
  e2e: E2eOptions | null; // null: submission only (a spawned Postern then does not deliver)
}

/** --e2e: the spawned Postern delivers to a sink, and every cell also waits for the deliveries. */
export interface E2eOptions {
  sink: Target | 'auto'; // auto: bench/lib/sink.ts, started by the bench on a free loopback port
  sinkFile: string | null; // explicit sink: the smtp-sink -c counter file ("... mesg=N ...")
  deliveryConcurrency: number; // the spawned Postern's delivery.concurrency = perDestinationConcurrency
}

export class UsageError extends Error {}

export const HELP = `usage: npm run bench -- [options]

Measures SMTP submission (STARTTLS/implicit TLS + AUTH PLAIN): accepted msg/s and the latency
from the final "." of DATA to the 250, per cell of (mode x conns x size).
Without --target it starts Postern itself (temp dataDir, generated config, CLI-provisioned mailbox).

  --conns "1 8 32"          concurrent connections per cell
  --sizes "2048 102400"     message sizes in bytes, headers included (k/m suffix allowed)
  --modes "reuse newconn"   reuse: one session, many messages (RSET between)
                            newconn: connect + TLS + AUTH + one message + QUIT each
  --messages N              accepted messages per cell                     [1000]
  --warmup N                unmeasured messages before each cell           [50]
  --json                    JSON on stdout (table then goes to stderr)
  --target HOST:PORT        measure a running server instead (loopback only)
  --user U --pass P         AUTH PLAIN login    [alice@example.test / generated for a spawned Postern]
  --from ADDR --to ADDR[,ADDR]  envelope      [--user / rcpt@remote.test]
  --tls starttls|implicit                                                  [starttls]
  --ehlo NAME                                                              [bench.client.test]
  --max-seconds S           bound of each cell                             [120]
  --max-total-seconds S     bound of the whole run; later cells skipped    [1200]
  --cmd-timeout S           bound of each SMTP reply                       [30]
  --max-errors N            a cell stops after N failed messages/sessions  [50]
  --cooldown-ms MS          pause between cells                            [500]
  --server-pids "P1 P2"     with --target: count these processes and their descendants as
                            the server's CPU (e.g. Postfix master + dovecot)
  --tls-cert F --tls-key F  certificate for the spawned Postern            [self-signed]
  --cpu-prof DIR            run the spawned Postern under node --cpu-prof, profile into DIR
  --workers N|auto          the spawned Postern's worker processes          [Postern's default]
  --sign off|rsa|both       the spawned Postern signs with DKIM (RSA-2048, or RSA + Ed25519) [off]
  --keep                    keep the spawned Postern's temp folder
  --threads                 also the server's CPU per message by process and thread (supervisor,
                            workers; main thread, queue writer, libuv pool, V8 helpers)
  --label TEXT              copied into the JSON and the table

DKIM (instead of the matrix above):
  --dkim                    signing cost per message in one process (2 KiB, 100 KiB; RSA-2048,
                            Ed25519) and submission msg/s of a signing and a non-signing Postern
                            measured in turns; --rounds N [3], --messages N [1500], --conns "1 8",
                            --size BYTES [2048], --micro-only

Content scanning (instead of the matrix above):
  --scan [URL]              starts a real rspamd on loopback (or uses URL) and measures a
                            scanning and a non-scanning Postern in turns at 1 and 8
                            connections: msg/s, p99 ack, cost per message

PostgreSQL store (instead of the matrix above; issue 7):
  --store                   four parts, every schema fresh and dropped at the end:
                            engines: a Postern on SQLite and one on PostgreSQL measured in turns,
                              each delivering to the bench's own sink: accepted and delivered
                              msg/s, ack p50/p99, CPU ms/msg of Postern and of PostgreSQL (its
                              whole process tree), the ratios PG/SQLite of the same run;
                            nodes: two Posterns on one schema (own nodeName and port, one
                              secrets key file), the connections split over both, against one
                              PostgreSQL node alone with the same total connections;
                            claim: store.queue.claim() p50/p99 with --deferred messages deferred
                              into the future (bulk SQL fill) and --due due ones, PostgreSQL and
                              SQLite, and the plan of the claim statement
                            deep: a PostgreSQL node on that deep schema against one on an empty
                              schema, in turns, end to end (--deep-conns "8")
  --parts "engines nodes claim deep"  which of them                             [all four]
  --conns "1 8"             engines: connections per cell
  --node-conns "2 8"        nodes: total connections (even: half to each node)
  --rounds N [3] --messages N [2000] --warmup N [300] --size BYTES [2048]
  --delivery-concurrency N  each node's delivery.concurrency                      [20]
  --deferred N              claim: deferred messages in the queue                 [1000000]
  --sqlite-deferred N       claim: the same for SQLite (0: skip SQLite)         [= --deferred]
  --due N [1000] --claims N [200] --claim-limit N [100]
  --pg-url URL              loopback only [$POSTERN_BENCH_PG_URL, else postgres://postgres@127.0.0.1:5432/test]
  --max-seconds S [120] per cell, --max-total-seconds S [3600] for the run, --json

End to end (delivery to a sink):
  --e2e [HOST:PORT|auto]    the spawned Postern delivers everything to a sink (smarthost, no
                            TLS) and each cell also reports delivered msg/s (accepted / start
                            of cell to the sink having all of them) and drain s (last 250 to
                            last delivery). auto (the default value): a sink of our own
                            (bench/lib/sink.ts) on a free 127.0.0.1 port. HOST:PORT: a running
                            sink, e.g. the lab's smtp-sink 127.0.0.1:10026; needs --sink-file.
                            With --target: the target must already deliver to HOST:PORT.
  --sink-file FILE          with --e2e HOST:PORT: the smtp-sink -c counter file ("mesg=N")
  --delivery-concurrency N  the spawned Postern's delivery.concurrency and
                            perDestinationConcurrency with --e2e                 [20]
`;

function signOf(v: string | undefined): BenchOptions['sign'] {
  if (v === undefined) return 'off';
  if (v === 'off' || v === 'rsa' || v === 'both') return v;
  throw new UsageError(`--sign must be off, rsa or both, not ${v}`);
}

/** 127.0.0.0/8, ::1 and the IPv4-mapped forms; "localhost" means 127.0.0.1. Nothing else. */
export function loopbackHost(host: string, what = 'target'): string {
  const h = host.replace(/^\[|\]$/g, '');
  if (h.toLowerCase() === 'localhost') return '127.0.0.1';
  const kind = net.isIP(h);
  if (kind === 4 && h.split('.')[0] === '127') return h;
  if (kind === 6) {
    const lower = h.toLowerCase();
    if (lower === '::1' || lower === '0:0:0:0:0:0:0:1') return h;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
    if (mapped && mapped[1].split('.')[0] === '127') return mapped[1];
  }
  throw new UsageError(`refusing ${what} ${host}: only loopback addresses (127.0.0.0/8, ::1, localhost) may be measured`);
}

export function parseTarget(s: string, flag = '--target'): Target {
  const m = /^(\[[^\]]+\]|[^:]+|[0-9a-fA-F:]+):(\d+)$/.exec(s.trim());
  if (!m) throw new UsageError(`${flag} must be HOST:PORT (IPv6 as [::1]:PORT), not ${s}`);
  const port = Number(m[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError(`bad port in ${flag} ${s}`);
  return { host: loopbackHost(m[1], flag === '--target' ? 'target' : `${flag} host`), port };
}

/** HOST:PORT as Postern's config writes it (IPv6 in brackets). */
export const hostPortText = (t: Target) => (net.isIPv6(t.host) ? `[${t.host}]:${t.port}` : `${t.host}:${t.port}`);

export function parseSize(s: string): number {
  const m = /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(s.trim());
  if (!m) throw new UsageError(`bad size ${s}`);
  const mult = m[2].toLowerCase() === 'k' ? 1024 : m[2].toLowerCase() === 'm' ? 1024 * 1024 : 1;
  const n = Math.round(Number(m[1]) * mult);
  if (n < 512 || n > 50 * 1024 * 1024) throw new UsageError(`message size ${s} out of range (512 bytes .. 50 MiB)`);
  return n;
}

const list = (s: string) => s.split(/[\s,]+/).filter(Boolean);

function int(name: string, v: string, min: number, max: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be a whole number in ${min}..${max}`);
  return n;
}

export function parseArgs(argv: string[]): BenchOptions {
  const raw = new Map<string, string>();
  const flags = new Set(['json', 'keep', 'help', 'threads']);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new UsageError(`unexpected argument ${a}`);
    const eq = a.indexOf('=');
    const key = eq > 0 ? a.slice(2, eq) : a.slice(2);
    if (flags.has(key)) {
      raw.set(key, 'true');
      continue;
    }
    if (key === 'e2e' && eq < 0) {
      // optional value: "--e2e" alone (or followed by another flag) means auto
      const next = argv[i + 1];
      raw.set(key, next !== undefined && !next.startsWith('--') ? argv[++i] : 'auto');
      continue;
    }
    const value = eq > 0 ? a.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new UsageError(`--${key} needs a value`);
    raw.set(key, value);
  }
  const known = new Set([
    'conns',
    'sizes',
    'modes',
    'messages',
    'warmup',
    'json',
    'target',
    'user',
    'pass',
    'from',
    'to',
    'tls',
    'ehlo',
    'max-seconds',
    'max-total-seconds',
    'cmd-timeout',
    'max-errors',
    'cooldown-ms',
    'tls-cert',
    'tls-key',
    'cpu-prof',
    'keep',
    'threads',
    'label',
    'help',
    'workers',
    'sign',
    'server-pids',
    'e2e',
    'sink-file',
    'delivery-concurrency',
  ]);
  for (const k of raw.keys()) if (!known.has(k)) throw new UsageError(`unknown option --${k}`);
  if (raw.has('help')) throw new UsageError(HELP);

  const get = (k: string, d: string) => raw.get(k) ?? d;
  const modes = list(get('modes', 'reuse newconn'));
  for (const m of modes) if (m !== 'reuse' && m !== 'newconn') throw new UsageError(`--modes: unknown mode ${m}`);
  const tls = get('tls', 'starttls');
  if (tls !== 'starttls' && tls !== 'implicit') throw new UsageError('--tls must be starttls or implicit');
  const target = raw.has('target') ? parseTarget(raw.get('target')!) : null;
  if (target && (!raw.has('user') || !raw.has('pass'))) throw new UsageError('--target needs --user and --pass');
  if (target && (raw.has('tls-cert') || raw.has('cpu-prof') || raw.has('workers'))) {
    throw new UsageError('--tls-cert, --cpu-prof and --workers apply only to a spawned Postern');
  }
  const workers = raw.get('workers');
  if (!target && raw.has('server-pids')) throw new UsageError('--server-pids applies only with --target');
  if (!!raw.get('tls-cert') !== !!raw.get('tls-key')) throw new UsageError('--tls-cert and --tls-key go together');
  const e2e = parseE2e(raw, target !== null);
  const user = get('user', 'alice@example.test');
  if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(user)) throw new UsageError(`--user must be an address, not ${user}`);

  const o: BenchOptions = {
    conns: list(get('conns', '1 8 32')).map((c) => int('conns', c, 1, 500)),
    sizes: list(get('sizes', '2048 102400')).map(parseSize),
    modes: modes as Mode[],
    messages: int('messages', get('messages', '1000'), 1, 1_000_000),
    warmup: int('warmup', get('warmup', '50'), 0, 100_000),
    json: raw.has('json'),
    target,
    user,
    pass: get('pass', ''),
    from: get('from', user),
    to: list(get('to', 'rcpt@remote.test')),
    tls,
    ehlo: get('ehlo', 'bench.client.test'),
    maxSeconds: int('max-seconds', get('max-seconds', '120'), 1, 3600),
    maxTotalSeconds: int('max-total-seconds', get('max-total-seconds', '1200'), 1, 24 * 3600),
    cmdTimeoutSeconds: int('cmd-timeout', get('cmd-timeout', '30'), 1, 600),
    maxErrors: int('max-errors', get('max-errors', '50'), 1, 1_000_000),
    cooldownMs: int('cooldown-ms', get('cooldown-ms', '500'), 0, 60_000),
    tlsCert: raw.get('tls-cert') ?? null,
    tlsKey: raw.get('tls-key') ?? null,
    cpuProf: raw.get('cpu-prof') ?? null,
    serverPids: list(get('server-pids', '')).map((p) => int('server-pids', p, 1, 2 ** 22)),
    workers: workers === undefined ? null : workers === 'auto' ? 'auto' : int('workers', workers, 1, 64),
    sign: signOf(raw.get('sign')),
    keep: raw.has('keep'),
    threads: raw.has('threads'),
    label: get('label', target ? `${target.host}:${target.port}` : 'postern'),
    e2e,
  };
  if (!o.conns.length || !o.sizes.length || !o.modes.length) throw new UsageError('--conns, --sizes and --modes need at least one value');
  if (!o.to.length) throw new UsageError('--to needs at least one address');
  return o;
}

function parseE2e(raw: Map<string, string>, haveTarget: boolean): E2eOptions | null {
  const value = raw.get('e2e');
  if (value === undefined) {
    if (raw.has('sink-file') || raw.has('delivery-concurrency')) throw new UsageError('--sink-file and --delivery-concurrency need --e2e');
    return null;
  }
  const sink = value === 'auto' || value === '' ? 'auto' : parseTarget(value, '--e2e');
  const sinkFile = raw.get('sink-file') || null;
  if (sink === 'auto' && sinkFile) throw new UsageError('--sink-file goes with an explicit --e2e HOST:PORT (auto counts its own sink)');
  if (sink !== 'auto' && !sinkFile) throw new UsageError("--e2e HOST:PORT needs --sink-file (the sink's smtp-sink -c counter file)");
  if (haveTarget && sink === 'auto')
    throw new UsageError('with --target, --e2e needs the HOST:PORT the target delivers to (and --sink-file)');
  if (haveTarget && raw.has('delivery-concurrency')) throw new UsageError('--delivery-concurrency applies only to a spawned Postern');
  const dc = raw.get('delivery-concurrency');
  return { sink, sinkFile, deliveryConcurrency: dc === undefined ? 20 : int('delivery-concurrency', dc, 1, 1000) };
}
