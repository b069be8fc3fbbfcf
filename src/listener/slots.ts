/**
 * Connection slots that a few addresses cannot exhaust, enforced on smtp-server's connections
 * (smtp-server-patch.ts feeds them in):
 * - a session that has not authenticated must do so within authTimeoutMs of connecting
 *   (submission roles; mx takes mail without AUTH), and such sessions may hold at most
 *   unauthenticatedShare of maxConnections: a new connection beyond that closes the oldest
 *   unauthenticated one (from a network no login came from first), so a client that
 *   authenticates at once always finds a slot;
 * - a command line must arrive whole within commandMs of its first byte, and DATA must keep
 *   up minDataRate bytes a second after a grace period, so one byte a second holds nothing.
 * One sweep a second per listener closes the sessions past a deadline with 421.
 */
export interface SlotRules {
  /** Submission roles: unauthenticated sessions are limited. */
  requireAuth: boolean;
  authTimeoutMs: number;
  /** How many unauthenticated sessions may be open at once. */
  maxUnauthenticated: number;
  commandMs: number;
  minDataRate: number;
  dataGraceMs: number;
  /** A login succeeded from this client's network before (it may take a reserved slot). */
  isKnown(ip: string): boolean;
  /** Told each time a session is closed by these rules (metrics, log). */
  onClosed?(reason: SlotReason, ip: string): void;
}

export type SlotReason = 'auth-timeout' | 'evicted' | 'command-timeout' | 'data-too-slow';

/** What the rules need of an smtp-server connection. */
export interface SlotConnection {
  remoteAddress: string;
  session: { user?: unknown };
  _parser: { _dataMode?: boolean } | false;
  _closing?: boolean;
  _closed?: boolean;
  send(code: number, data?: string, context?: string | false): void;
  slot?: SlotState;
}

export interface SlotState {
  since: number;
  known: boolean;
  /** When the first byte of a command line still incomplete arrived, or null. */
  cmdStart: number | null;
  dataStart: number | null;
  dataBytes: number;
}

const alive = (c: SlotConnection) => !c._closing && !c._closed;
const authed = (c: SlotConnection) => Boolean(c.session.user);

function close(rules: SlotRules, c: SlotConnection, reason: SlotReason, text: string): void {
  rules.onClosed?.(reason, c.remoteAddress);
  c.send(421, text, false);
}

/** A new connection: its state, and room made among unauthenticated sessions when needed. */
export function admit(rules: SlotRules, c: SlotConnection, all: Iterable<SlotConnection>, now: number): void {
  c.slot = { since: now, known: rules.isKnown(c.remoteAddress), cmdStart: null, dataStart: null, dataBytes: 0 };
  if (!rules.requireAuth) return;
  let waiting = 0;
  let victim: SlotConnection | null = null;
  const older = (a: SlotConnection, b: SlotConnection | null) =>
    !b || (a.slot!.known !== b.slot!.known ? !a.slot!.known : a.slot!.since < b.slot!.since);
  for (const o of all) {
    if (o === c || !o.slot || !alive(o) || authed(o)) continue;
    waiting++;
    if (older(o, victim)) victim = o;
  }
  if (waiting + 1 > rules.maxUnauthenticated && victim) {
    close(
      rules,
      victim,
      'evicted',
      '4.7.0 Too many connections waiting to authenticate; yours was the oldest, connect again and authenticate at once',
    );
  }
}

/** Bytes the client sent: tracks incomplete command lines and DATA progress. */
export function received(c: SlotConnection, chunk: Buffer, dataMode: boolean, now: number): void {
  const s = c.slot;
  if (!s) return;
  if (dataMode) {
    if (s.dataStart === null) {
      s.dataStart = now;
      s.dataBytes = 0;
    }
    s.dataBytes += chunk.length;
    return;
  }
  s.dataStart = null;
  if (chunk[chunk.length - 1] === 0x0a) s.cmdStart = null;
  else s.cmdStart ??= now;
}

/** The sweep: closes what is past a deadline. */
export function sweep(rules: SlotRules, all: Iterable<SlotConnection>, now: number): void {
  for (const c of [...all]) {
    const s = c.slot;
    if (!s || !alive(c)) continue;
    const dataMode = Boolean(c._parser && c._parser._dataMode);
    if (rules.requireAuth && !authed(c) && now - s.since > rules.authTimeoutMs) {
      close(rules, c, 'auth-timeout', `4.7.0 Authenticate within ${Math.round(rules.authTimeoutMs / 1000)} seconds of connecting`);
      continue;
    }
    if (!dataMode) {
      s.dataStart = null;
      if (s.cmdStart !== null && now - s.cmdStart > rules.commandMs) {
        close(rules, c, 'command-timeout', `4.4.2 A command line must arrive within ${Math.round(rules.commandMs / 1000)} seconds`);
      }
      continue;
    }
    if (s.dataStart === null) {
      s.dataStart = now;
      s.dataBytes = 0;
    }
    const slow = now - s.dataStart - rules.dataGraceMs;
    if (slow > 0 && s.dataBytes < (rules.minDataRate * slow) / 1000) {
      close(rules, c, 'data-too-slow', `4.4.2 The message arrives too slowly (less than ${rules.minDataRate} bytes a second)`);
    }
  }
}
