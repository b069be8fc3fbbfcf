/**
 * A real rspamd (Debian's `rspamd` package, installed by contrib/ci-rspamd.sh) on loopback for
 * integration tests, configured for scanning OUTBOUND mail offline and deterministically.
 *
 * Each instance gets its own temp dir (config, dbdir, rundir, log) and its own free loopback
 * ports; /etc/rspamd is only read (score and map files shipped by the package), never changed,
 * and the system service, if any, is left alone: it listens on 11332-11334 and uses /run/rspamd
 * and /var/lib/rspamd, none of which this instance touches.
 *
 * The configuration is a minimal standalone one rather than /etc/rspamd/rspamd.conf, because
 * that one enables every module in modules.d and many need the network or Redis. Lua plugins
 * without a config section are disabled by rspamd itself ("disabling unconfigured lua module"),
 * so only what is listed below runs:
 *   on   regexp + chartable (C), the package's rules (rules/rspamd.lua: header, MIME, HTML,
 *        subject, bounce and misc checks), mime_types (local map), forged_recipients, maillist,
 *        mid (local map), phishing (offline URL-vs-text checks; no openphish/phishtank), settings,
 *        the package's composites, and GTUBE (built into the MIME parser: "reject").
 *        antivirus (clamav) only when a clamd socket exists (or `clamdSocket` is given).
 *   off  dkim verification, spf, dmarc (and its reporting), arc, rbl/surbl, emails, asn,
 *        hfilter and once_received (PTR/HELO lookups), fuzzy_check, neural, ratelimit,
 *        greylist, reputation, history_redis, bayes (the classifier needs Redis), dcc,
 *        dkim_signing, milter_headers, rspamd_update and every other unconfigured plugin.
 * Nothing configured talks to Redis (even though one may listen on 127.0.0.1:6379 here), and
 * rspamd's resolver points at 127.0.0.1:53 with a short timeout in case something still asks.
 *
 * Startup: compiling hyperscan databases (the 9,600 TLD suffixes above all) takes ~9 s on this
 * 2-core machine; rspamd caches them in hs_cache_dir, which is shared between instances in
 * $TMPDIR/postern-rspamd-hs-cache, so later starts are ready in about half a second. The
 * cache is keyed by the patterns' hash; pass `hsCacheDir: null` to keep it in the private dbdir.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const RSPAMD_BIN = '/usr/bin/rspamd';
/** Where the package keeps the files this config reads (scores.d, maps.d, composites.conf). */
const PKG_CONFDIR = '/etc/rspamd';
const CLAMD_SOCKETS = ['/run/clamav/clamd.ctl', '/var/run/clamav/clamd.ctl'];

export interface Rspamd {
  /** The normal worker, e.g. http://127.0.0.1:PORT: POST /checkv2, GET /ping. */
  url: string;
  /** The controller worker (no password; loopback is a secure_ip). */
  controllerUrl: string;
  /** The instance's temp dir: rspamd.conf, db/, run/, rspamd.log. Removed by stop(). */
  dir: string;
  stop(): Promise<void>;
  /** rspamd's log file followed by whatever it wrote to stdout/stderr. */
  logs(): string;
}

export interface StartRspamdOptions {
  /** How long to wait for GET /ping to answer "pong"; 30000 by default. */
  timeoutMs?: number;
  /** A clamd unix socket for the antivirus module; by default the Debian socket if it exists; null: off. */
  clamdSocket?: string | null;
  /** Hyperscan cache dir, shared by default (see above); null: the instance's own dbdir. */
  hsCacheDir?: string | null;
}

export function rspamdAvailable(): boolean {
  return fs.existsSync(RSPAMD_BIN);
}

function isSocket(p: string): boolean {
  try {
    return fs.statSync(p).isSocket();
  } catch {
    return false;
  }
}

/** A UCL string literal. */
function q(s: string): string {
  return JSON.stringify(s);
}

async function freePorts(n: number): Promise<number[]> {
  // Hold all listeners open together so the ports differ, then release them for rspamd.
  const servers: net.Server[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const srv = net.createServer();
      await new Promise<void>((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(0, '127.0.0.1', resolve);
      });
      servers.push(srv);
    }
    return servers.map((s) => (s.address() as net.AddressInfo).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  }
}

export function rspamdConfig(p: { normalPort: number; controllerPort: number; clamdSocket: string | null; hsCacheDir: string }): string {
  const av = p.clamdSocket
    ? `
# clamd found: scan the whole message, force "reject" on a virus.
antivirus {
  clamav {
    type = "clamav";
    servers = ${q(p.clamdSocket)};
    symbol = "CLAM_VIRUS";
    action = "reject";
    scan_mime_parts = false;
    log_clean = true;
    timeout = 10s;
    retransmits = 1;
  }
}
`
    : '\n# antivirus: no clamd socket, module left unconfigured (= disabled).\n';
  return `# Generated by test/helpers/rspamd.ts: a standalone OUTBOUND test configuration.
# Paths: $DBDIR, $RUNDIR, $LOGDIR and $LOCAL_CONFDIR are this instance's temp dir (set with
# --var); $CONFDIR stays ${PKG_CONFDIR} and is only read for the package's scores and maps.
lua = "$RULESDIR/rspamd.lua";
modules { path = "$PLUGINSDIR"; }

options {
  pidfile = "$RUNDIR/rspamd.pid";
  # C modules: no dkim (verification needs DNS), no fuzzy_check (needs fuzzy servers).
  filters = "regexp,chartable";
  explicit_modules = ["settings"];
  dns {
    nameserver = ["127.0.0.1:53"];
    timeout = 0.5s;
    retransmits = 1;
    sockets = 1;
  }
  cache_file = "$DBDIR/symbols.cache";
  history_file = "$DBDIR/rspamd.history";
  stats_file = "$DBDIR/stats.ucl";
  control_socket = "$DBDIR/rspamd.sock mode=0600";
  hs_cache_dir = ${q(p.hsCacheDir)};
  tempdir = "$DBDIR";
  url_tld = "$SHAREDIR/effective_tld_names.dat";
  allow_raw_input = true;
  task_timeout = 8s;
  soft_reject_on_timeout = false;
}

logging {
  type = "file";
  filename = "$LOGDIR/rspamd.log";
  level = "info";
  color = false;
}

# The package's thresholds, without greylist (no greylisting for outbound).
actions {
  reject = 15;
  add_header = 6;
}

group "headers" { .include "$CONFDIR/scores.d/headers_group.conf" }
group "subject" { .include "$CONFDIR/scores.d/subject_group.conf" }
group "mua" { .include "$CONFDIR/scores.d/mua_group.conf" }
group "content" { .include "$CONFDIR/scores.d/content_group.conf" }
group "mime_types" { .include "$CONFDIR/scores.d/mime_types_group.conf" }
group "phishing" { .include "$CONFDIR/scores.d/phishing_group.conf" }
group "excessqp" { max_score = 2.4; }
group "excessb64" { max_score = 3.0; }
.include "$CONFDIR/composites.conf"

regexp { max_size = 1M; }
chartable { threshold = 0.3; symbol = "R_MIXED_CHARSET"; }
mime_types {
  # A plain path: the package's default lists an https map first.
  file = "$CONFDIR/maps.d/mime_types.inc";
  extension_map = {
    html = "text/html";
    txt = ["message/disposition-notification", "text/plain", "text/rfc822-headers"];
    pdf = ["application/octet-stream", "application/pdf", "application/x-pdf"];
  }
}
forged_recipients { symbol_sender = "FORGED_SENDER"; symbol_rcpt = "FORGED_RECIPIENTS"; }
maillist { symbol = "MAILLIST"; }
mid { source { url = ["$CONFDIR/maps.d/mid.inc"]; } }
phishing { symbol = "PHISHING"; openphish_enabled = false; phishtank_enabled = false; }
settings { }
${av}
worker "normal" {
  bind_socket = "127.0.0.1:${p.normalPort}";
  count = 1;
  mime = true;
}
worker "controller" {
  bind_socket = "127.0.0.1:${p.controllerPort}";
  count = 1;
  secure_ip = "127.0.0.1";
  secure_ip = "::1";
  static_dir = "$WWWDIR";
}
`;
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;
function killGroup(child: ChildProcess, sig: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, sig); // the main process and its workers (own process group)
  } catch {
    /* already gone */
  }
}
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const c of running) killGroup(c, 'SIGKILL');
  });
}

function tail(text: string, lines = 40): string {
  return text.split('\n').slice(-lines).join('\n');
}

async function pong(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/ping`, { signal: AbortSignal.timeout(2000) });
    return res.ok && (await res.text()).trim() === 'pong';
  } catch {
    return false;
  }
}

export async function startRspamd(opts: StartRspamdOptions = {}): Promise<Rspamd> {
  if (!rspamdAvailable()) throw new Error(`${RSPAMD_BIN} is missing: install Debian's rspamd (bash contrib/ci-rspamd.sh, run by .ci/run)`);
  let lastError: Error | null = null;
  // A port picked free may be taken before rspamd binds it: try again with new ports.
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(opts);
    } catch (e) {
      lastError = e as Error;
      if (!/cannot bind|Address already in use|EADDRINUSE/i.test(lastError.message)) throw lastError;
    }
  }
  throw lastError!;
}

async function startOnce(opts: StartRspamdOptions): Promise<Rspamd> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'postern-rspamd-'));
  const dbdir = path.join(dir, 'db');
  const rundir = path.join(dir, 'run');
  fs.mkdirSync(dbdir);
  fs.mkdirSync(rundir);
  let hsCacheDir = opts.hsCacheDir === undefined ? path.join(os.tmpdir(), 'postern-rspamd-hs-cache') : opts.hsCacheDir;
  if (hsCacheDir === null) hsCacheDir = dbdir;
  fs.mkdirSync(hsCacheDir, { recursive: true });
  const clamdSocket = opts.clamdSocket === undefined ? (CLAMD_SOCKETS.find(isSocket) ?? null) : opts.clamdSocket;
  const [normalPort, controllerPort] = await freePorts(2);
  const conf = path.join(dir, 'rspamd.conf');
  fs.writeFileSync(
    conf,
    rspamdConfig({ normalPort: normalPort!, controllerPort: controllerPort!, clamdSocket, hsCacheDir: hsCacheDir + '/' }),
  );
  const logFile = path.join(dir, 'rspamd.log');

  const args = ['-f', '-c', conf, `--var=DBDIR=${dbdir}`, `--var=RUNDIR=${rundir}`, `--var=LOGDIR=${dir}`, `--var=LOCAL_CONFDIR=${dir}`];
  // As root, rspamd wants an explicit user for its workers; root keeps the temp dir writable.
  if (process.getuid?.() === 0) args.push('-u', 'root', '-g', 'root');

  let output = '';
  const child = spawn(RSPAMD_BIN, args, { cwd: dir, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  installExitHook();
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    output += d;
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    output += d;
  });
  let exited: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  const exitPromise = new Promise<void>((resolve) => {
    child.on('exit', (code, signal) => {
      exited = { code, signal };
      running.delete(child);
      resolve();
    });
    child.on('error', (err) => {
      output += `\nspawn error: ${err.message}\n`;
      exited ??= { code: null, signal: null };
      running.delete(child);
      resolve();
    });
  });

  const logs = () => {
    let file = '';
    try {
      file = fs.readFileSync(logFile, 'utf8');
    } catch {
      /* not written yet, or removed */
    }
    return output ? `${file}\n--- stdout/stderr ---\n${output}` : file;
  };

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (!exited) {
      child.kill('SIGTERM'); // the main process stops its workers
      const timer = new Promise<'timeout'>((r) => setTimeout(r, 5000, 'timeout').unref());
      if ((await Promise.race([exitPromise, timer])) === 'timeout') {
        killGroup(child, 'SIGKILL');
        await exitPromise;
      }
    }
    killGroup(child, 'SIGKILL'); // a worker left behind, if any
    fs.rmSync(dir, { recursive: true, force: true });
  };

  const url = `http://127.0.0.1:${normalPort}`;
  const controllerUrl = `http://127.0.0.1:${controllerPort}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited) {
      const { code, signal } = exited;
      const text = logs();
      await stop();
      throw new Error(`rspamd exited before it was ready (code ${code}, signal ${signal}); log tail:\n${tail(text)}`);
    }
    if ((await pong(url)) && (await pong(controllerUrl))) break;
    if (Date.now() > deadline) {
      const text = logs();
      await stop();
      throw new Error(`rspamd did not answer GET /ping on ${url} within ${timeoutMs} ms; log tail:\n${tail(text)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, controllerUrl, dir, stop, logs };
}
