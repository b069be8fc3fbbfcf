/**
 * Taking in the drop folder: at start-up and every few seconds, each finished drop file is
 * read, its site found by the token, and the message put through the injector (the same policy
 * as any other way in). Accepted: the file is removed. Refused for good (5xx): a bounce goes to
 * the envelope sender when the site may use it, else to the customer's contact or the
 * postmaster (never to a forged address), and the file is removed. Refused for now (4xx, a
 * limit): the file stays and is tried again at each scan until dropRetryHours, then bounced.
 * A file without a valid token or format is moved aside (never lost, never bounced) and logged.
 * The folder is writable by every site user, so nothing in it is trusted: a file is claimed by
 * renaming it (".taken-NAME") before anything else, opened without following links, and only a
 * regular file of a bounded size is read; anything else is moved aside unread. A claimed file
 * left by a crash is taken in again at the next start (at least once, never lost).
 */
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { SmtpError, formatReply, newQueueId, type Clock, type Site } from '../core/index.ts';
import { siteTokenHash } from '../credentials/index.ts';
import { senderAllowed } from '../policy/index.ts';
import { BOUNCE_LISTENER, buildDsn, noticeRequest } from '../bounce/index.ts';
import type { Intake } from '../intake/index.ts';
import type { Store } from '../store/index.ts';
import type { Injector } from './injector.ts';
import { envelopeFields, headerEnd } from './header.ts';
import { DROP_DIR_MODE, isTempName, parseDrop, parseDropHead } from './drop.ts';
import type { Metrics } from '../observability/index.ts';

export interface PickupDeps {
  dir: string;
  /** Where unreadable files and files with an unknown token are moved (mode 0700). */
  rejectedDir: string;
  injector: Injector;
  intake: Intake;
  store: Store;
  clock: Clock;
  logger: Logger;
  retryMs: number;
  hostname: string;
  bounceFrom: string;
  postmaster: string | null;
  /** Unix user name of a uid (for the Received line and the logs). */
  userOf?: (uid: number) => string | null;
  /** Largest drop file read (the largest message and its envelope line). */
  maxBytes: number;
  /** Bounces of refused drop messages are counted (postern_dsn_total, type failure). */
  metrics?: Metrics;
}

export interface Pickup {
  /** Takes in every waiting file once; resolves with how many were accepted. */
  scan(): Promise<number>;
  start(intervalMs: number): void;
  close(): Promise<void>;
}

/** Creates the drop folder with its mode (and the folder for rejects), or fixes the mode. */
export function prepareDropDir(dir: string, rejectedDir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  // exactly 1733, keeping a setgid bit the operator set (files then inherit the folder's group)
  const mode = fs.statSync(dir).mode & 0o7777;
  const want = DROP_DIR_MODE | (mode & 0o2000);
  if (mode !== want) fs.chmodSync(dir, want);
  fs.mkdirSync(rejectedDir, { recursive: true, mode: 0o700 });
  fs.chmodSync(rejectedDir, 0o700);
}

/** uid -> user name from /etc/passwd (re-read when it changes). */
export function passwdLookup(file = '/etc/passwd'): (uid: number) => string | null {
  let stamp = '';
  let map = new Map<number, string>();
  return (uid) => {
    try {
      const st = fs.statSync(file);
      if (`${st.mtimeMs}:${st.size}` !== stamp) {
        stamp = `${st.mtimeMs}:${st.size}`;
        map = new Map(
          fs
            .readFileSync(file, 'utf8')
            .split('\n')
            .map((l) => l.split(':'))
            .filter((f) => f.length > 2)
            .map((f) => [Number(f[2]), f[0]!]),
        );
      }
    } catch {
      return null;
    }
    return map.get(uid) ?? null;
  };
}

const STALE_TMP_MS = 24 * 3_600_000;
/** A ".tmp-" file this old whose length is complete was fsynced by a sendmail whose rename was lost. */
const ORPHAN_TMP_MS = 10 * 60_000;
const TAKEN = '.taken-';
/** How much of an orphaned ".tmp-" file is read to judge it: the envelope line fits. */
const HEAD_BYTES = 64 * 1024;

export function createPickup(deps: PickupDeps): Pickup {
  const { logger } = deps;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<number> | null = null;

  const aside = (name: string, why: string) => {
    try {
      fs.renameSync(path.join(deps.dir, name), path.join(deps.rejectedDir, name.startsWith(TAKEN) ? name.slice(TAKEN.length) : name));
    } catch (err) {
      logger.error({ evt: 'maildrop', file: name, err: (err as Error).message }, 'cannot move a drop file aside');
      return;
    }
    logger.error({ evt: 'maildrop', file: name, result: 'rejected', reason: why, movedTo: deps.rejectedDir }, 'drop file not taken in');
  };

  /** Bounce of a refused drop message: to a sender the site may use, else its customer's contact, else the postmaster. */
  async function bounce(site: Site, sender: string, recipients: string[], err: SmtpError, message: Buffer, at: number, name: string) {
    const grants = await deps.store.sites.grants(site.id);
    const customer = await deps.store.customers.get(site.customerName);
    const to = (sender && senderAllowed(null, grants, sender) ? sender : null) ?? customer?.contact ?? deps.postmaster;
    if (!to) {
      logger.warn(
        { evt: 'maildrop', file: name, site: site.name, result: 'dropped', reply: formatReply(err.reply) },
        'refused drop message: nobody to tell',
      );
      return;
    }
    const now = new Date(deps.clock.now());
    const stream = buildDsn({
      reportingMta: deps.hostname,
      postmaster: deps.bounceFrom,
      to,
      queueId: name,
      arrivalDate: new Date(at),
      recipients: (recipients.length ? recipients : ['(none)']).map((r) => ({
        finalRecipient: r,
        action: 'failed' as const,
        status: err.reply.enhanced,
        diagnosticCode: formatReply(err.reply),
        lastAttemptDate: now,
      })),
      ret: 'HDRS',
      original: toCrlf(message),
      now,
      messageIdDomain: deps.hostname,
      localAdvice: `This mail system did not accept the message from the website (site ${site.name}) because of the rule above; nothing was sent. The website's owner can fix its settings, or ask your provider's support.`,
    });
    const queueId = newQueueId(deps.clock.now());
    await deps.intake.receive(
      stream,
      noticeRequest({ queueId, to: [to], customerId: site.customerId, listener: BOUNCE_LISTENER, hostname: deps.hostname }),
    );
    deps.metrics?.dsn.inc({ type: 'failure' });
    logger.info({ evt: 'bounce', file: name, site: site.name, dsn: queueId, to }, 'refused drop message bounced');
  }

  /** Reads a claimed file (see readRegular); anything else is moved aside. */
  function readClaimed(taken: string, name: string): { buf: Buffer; uid: number } | 'aside' | null {
    const r = readRegular(path.join(deps.dir, taken), deps.maxBytes);
    if ('buf' in r) return r;
    if (r.aside) return (aside(taken, r.problem), 'aside');
    logger.error({ evt: 'maildrop', file: name, err: r.problem }, 'cannot read a drop file');
    return null;
  }

  /** Puts a claimed file back for the next scan. */
  const release = (taken: string, name: string) => {
    try {
      fs.renameSync(path.join(deps.dir, taken), path.join(deps.dir, name));
    } catch {
      /* gone */
    }
  };
  const done = (taken: string, name: string) => {
    try {
      fs.rmSync(path.join(deps.dir, taken));
    } catch (err) {
      // it stays claimed (".taken-"), so it is not taken in again before the next start
      logger.error({ evt: 'maildrop', file: name, err: (err as Error).message }, 'cannot remove a drop file that was taken in');
    }
  };

  async function takeIn(name: string): Promise<boolean> {
    const taken = TAKEN + name;
    try {
      fs.renameSync(path.join(deps.dir, name), path.join(deps.dir, taken));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
        logger.error({ evt: 'maildrop', file: name, err: (err as Error).message }, 'cannot claim a drop file');
      return false;
    }
    // from here the file is claimed: it ends removed, moved aside, or put back, never stuck claimed
    let settled = false;
    const finished = <T>(v: T): T => {
      settled = true;
      return v;
    };
    try {
      return await claimed(taken, name, finished);
    } finally {
      if (!settled) release(taken, name);
    }
  }

  async function claimed(taken: string, name: string, finished: <T>(v: T) => T): Promise<boolean> {
    const read = readClaimed(taken, name);
    if (read === 'aside') return finished(false);
    if (!read) return false; // unreadable now: put back for the next scan
    const drop = parseDrop(read.buf);
    if (!drop) return (aside(taken, 'not a drop file, or cut short'), finished(false));
    const site = await deps.store.sites.byTokenHash(siteTokenHash(drop.env.token));
    if (!site) return (aside(taken, 'unknown site token (removed site or rotated token)'), finished(false));
    const unixUser = deps.userOf?.(read.uid) ?? String(read.uid);
    const expired = deps.clock.now() - drop.env.at > deps.retryMs;
    try {
      const r = await deps.injector.inject({
        sender: { kind: 'site', site, grants: await deps.store.sites.grants(site.id) },
        from: drop.env.from,
        to: drop.env.to,
        extract: drop.env.extract,
        fullName: drop.env.fullName,
        message: Readable.from([drop.message]),
        channel: 'maildrop',
        clientIp: '127.0.0.1',
        tls: null,
        unixUser,
      });
      done(taken, name);
      logger.info(
        { evt: 'maildrop', file: name, site: site.name, qid: r.id, unixUser, waitedMs: deps.clock.now() - drop.env.at },
        'drop file taken in',
      );
      return finished(true);
    } catch (err) {
      if (!(err instanceof SmtpError)) {
        // ours (store down): the file stays for the next scan, unless it has waited too long
        if (expired) return (aside(taken, `not taken in within the retry time: ${(err as Error).message}`), finished(false));
        throw err; // put back by the caller
      }
      if (err.reply.code < 500 && !expired) {
        logger.warn(
          { evt: 'maildrop', file: name, site: site.name, result: 'deferred', reply: formatReply(err.reply) },
          'drop file deferred',
        );
        return false; // put back by the caller
      }
      const head = drop.message.subarray(0, Math.max(0, headerEnd(drop.message)) || drop.message.length);
      let recipients = drop.env.to;
      let sender = drop.env.from ?? '';
      try {
        const fields = envelopeFields(head);
        if (drop.env.extract || !recipients.length) recipients = [...recipients, ...fields.recipients];
        sender ||= fields.from[0] ?? '';
      } catch {
        /* an unparsable header: the bounce lists what the envelope says */
      }
      logger.warn(
        { evt: 'maildrop', file: name, site: site.name, result: 'refused', reply: formatReply(err.reply), expired },
        'drop file refused',
      );
      await bounce(site, sender, recipients, err, drop.message, drop.env.at, name); // throws: put back, bounced later
      done(taken, name);
      return finished(false);
    }
  }

  /** A ".tmp-" file: an old and complete one (its rename was lost in a crash) is renamed for taking in; an old incomplete one removed. */
  function tmpFile(name: string): void {
    const file = path.join(deps.dir, name);
    try {
      const st = fs.lstatSync(file);
      const age = deps.clock.now() - st.mtimeMs;
      if (age < ORPHAN_TMP_MS) return;
      // only the envelope line is read: its length against the file's (the pickup checks the rest)
      const read = st.isFile() ? readRegular(file, HEAD_BYTES, true) : null;
      const head = read !== null && 'buf' in read ? parseDropHead(read.buf) : null;
      const complete = head !== null && head.start + head.env.size === st.size;
      if (complete) fs.renameSync(file, path.join(deps.dir, name.slice('.tmp-'.length)));
      else if (age > STALE_TMP_MS) fs.rmSync(file, { force: true });
    } catch {
      /* gone, or not ours to read */
    }
  }

  let first = true;

  async function scanOnce(): Promise<number> {
    let names: string[];
    try {
      names = fs.readdirSync(deps.dir);
    } catch (err) {
      logger.error({ evt: 'maildrop', dir: deps.dir, err: (err as Error).message }, 'cannot read the drop folder');
      return 0;
    }
    if (first) {
      // claimed by a run that died before it finished: take them in again (at least once)
      first = false;
      for (const n of names.filter((x) => x.startsWith(TAKEN))) release(n, n.slice(TAKEN.length));
      names = fs.readdirSync(deps.dir);
    }
    for (const n of names.filter(isTempName)) tmpFile(n);
    let accepted = 0;
    for (const name of fs.readdirSync(deps.dir).sort()) {
      if (name.startsWith('.')) continue;
      try {
        if (await takeIn(name)) accepted++;
      } catch (err) {
        logger.error({ evt: 'maildrop', file: name, err: (err as Error).message }, 'drop file not taken in; trying again at the next scan');
      }
    }
    return accepted;
  }

  return {
    scan() {
      // one scan at a time: a slow scan and the timer never take the same file twice
      running ??= scanOnce().finally(() => {
        running = null;
      });
      return running;
    },
    start(intervalMs) {
      timer = setInterval(() => void this.scan(), intervalMs);
      timer.unref();
    },
    async close() {
      if (timer) clearInterval(timer);
      await running;
    },
  };
}

/**
 * A file of the drop folder, opened without following a link and without blocking on a FIFO:
 * a regular file of at most maxBytes (with prefixOnly: its first maxBytes), or why not (aside:
 * move it out of the way unread).
 */
export function readRegular(
  file: string,
  maxBytes: number,
  prefixOnly = false,
): { buf: Buffer; uid: number } | { problem: string; aside: boolean } {
  const { O_RDONLY, O_NOFOLLOW, O_NONBLOCK } = fs.constants;
  let fd: number;
  try {
    fd = fs.openSync(file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    return { problem: `cannot be opened (${code})${code === 'ELOOP' ? ': a link' : ''}`, aside: code !== 'ENOENT' };
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) return { problem: 'not a regular file', aside: true };
    if (st.size > maxBytes && !prefixOnly) return { problem: `larger than ${maxBytes} bytes`, aside: true };
    const buf = Buffer.alloc(Math.min(st.size, maxBytes));
    let off = 0;
    while (off < buf.length) {
      const n = fs.readSync(fd, buf, off, buf.length - off, off);
      if (n === 0) break;
      off += n;
    }
    return { buf: buf.subarray(0, off), uid: st.uid };
  } catch (err) {
    return { problem: (err as Error).message, aside: false };
  } finally {
    fs.closeSync(fd);
  }
}

function toCrlf(b: Buffer): Buffer {
  return Buffer.from(b.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1');
}
