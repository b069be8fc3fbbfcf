/**
 * Taking in the drop folder: at start-up and every few seconds, each finished drop file is
 * read, its site found by the token, and the message put through the injector (the same policy
 * as any other way in). Accepted: the file is removed. Refused for good (5xx): a bounce goes to
 * the envelope sender when the site may use it, else to the customer's contact or the
 * postmaster (never to a forged address), and the file is removed. Refused for now (4xx, a
 * limit): the file stays and is tried again at each scan until dropRetryHours, then bounced.
 * A file without a valid token or format is moved aside (never lost, never bounced) and logged.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { SmtpError, formatReply, newQueueId, type Clock } from '../core/index.ts';
import { siteTokenHash } from '../credentials/index.ts';
import { senderAllowed } from '../policy/index.ts';
import { buildDsn } from '../bounce/index.ts';
import type { Intake } from '../intake/index.ts';
import type { Site, Store } from '../store/index.ts';
import type { Injector } from './injector.ts';
import { envelopeFields, headerEnd } from './header.ts';
import { DROP_DIR_MODE, isTempName, parseDrop } from './drop.ts';

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
  fs.chmodSync(dir, DROP_DIR_MODE);
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
        map = new Map(fs.readFileSync(file, 'utf8').split('\n').map((l) => l.split(':')).filter((f) => f.length > 2).map((f) => [Number(f[2]), f[0]!]));
      }
    } catch {
      return null;
    }
    return map.get(uid) ?? null;
  };
}

const STALE_TMP_MS = 24 * 3_600_000;

export function createPickup(deps: PickupDeps): Pickup {
  const { logger } = deps;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<number> | null = null;

  const aside = (name: string, why: string) => {
    try {
      fs.renameSync(path.join(deps.dir, name), path.join(deps.rejectedDir, name));
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
      logger.warn({ evt: 'maildrop', file: name, site: site.name, result: 'dropped', reply: formatReply(err.reply) }, 'refused drop message: nobody to tell');
      return;
    }
    const now = new Date(deps.clock.now());
    const stream = buildDsn({
      reportingMta: deps.hostname, postmaster: deps.bounceFrom, to, queueId: name, arrivalDate: new Date(at),
      recipients: (recipients.length ? recipients : ['(none)']).map((r) => ({
        finalRecipient: r, action: 'failed' as const, status: err.reply.enhanced, diagnosticCode: formatReply(err.reply), lastAttemptDate: now,
      })),
      ret: 'HDRS', original: toCrlf(message), now, messageIdDomain: deps.hostname,
      localAdvice: `This mail system did not accept the message from the website (site ${site.name}) because of the rule above; nothing was sent. The website's owner can fix its settings, or ask your provider's support.`,
    });
    const queueId = newQueueId(deps.clock.now());
    await deps.intake.receive(stream, {
      queueId, sender: '', recipients: [{ address: to }], dsnRet: null, dsnEnvid: null, customerId: site.customerId, mailboxId: null,
      authUser: null, clientIp: '127.0.0.1', clientHostname: 'localhost', heloName: deps.hostname, tls: null, listener: 'bounce', sign: true,
    });
    logger.info({ evt: 'bounce', file: name, site: site.name, dsn: queueId, to }, 'refused drop message bounced');
  }

  async function takeIn(name: string): Promise<boolean> {
    const file = path.join(deps.dir, name);
    let buf: Buffer;
    let uid: number;
    try {
      buf = fs.readFileSync(file);
      uid = fs.statSync(file).uid;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') logger.error({ evt: 'maildrop', file: name, err: (err as Error).message }, 'cannot read a drop file');
      return false;
    }
    const drop = parseDrop(buf);
    if (!drop) return aside(name, 'not a drop file'), false;
    const site = await deps.store.sites.byTokenHash(siteTokenHash(drop.env.token));
    if (!site) return aside(name, 'unknown site token (removed site or rotated token)'), false;
    const unixUser = deps.userOf?.(uid) ?? String(uid);
    try {
      const r = await deps.injector.inject({
        sender: { kind: 'site', site, grants: await deps.store.sites.grants(site.id) },
        from: drop.env.from, to: drop.env.to, extract: drop.env.extract, fullName: drop.env.fullName,
        message: Readable.from([drop.message]), channel: 'maildrop', clientIp: '127.0.0.1', tls: null, unixUser,
      });
      fs.rmSync(file, { force: true });
      logger.info({ evt: 'maildrop', file: name, site: site.name, qid: r.id, unixUser, waitedMs: deps.clock.now() - drop.env.at }, 'drop file taken in');
      return true;
    } catch (err) {
      if (!(err instanceof SmtpError)) throw err; // ours (store down): the file stays for the next scan
      const expired = deps.clock.now() - drop.env.at > deps.retryMs;
      if (err.reply.code < 500 && !expired) {
        logger.warn({ evt: 'maildrop', file: name, site: site.name, result: 'deferred', reply: formatReply(err.reply) }, 'drop file deferred');
        return false;
      }
      const end = headerEnd(drop.message);
      let recipients = drop.env.to;
      try {
        if (drop.env.extract || !recipients.length) recipients = [...recipients, ...envelopeFields(end === -1 ? drop.message : drop.message.subarray(0, end)).recipients];
      } catch { /* an unparsable header: the bounce lists no recipients */ }
      let sender = drop.env.from ?? '';
      if (!sender) { try { sender = envelopeFields(end === -1 ? drop.message : drop.message.subarray(0, end)).from[0] ?? ''; } catch { /* none */ } }
      logger.warn({ evt: 'maildrop', file: name, site: site.name, result: 'refused', reply: formatReply(err.reply), expired }, 'drop file refused');
      await bounce(site, sender, recipients, err, drop.message, drop.env.at, name);
      fs.rmSync(file, { force: true });
      return false;
    }
  }

  async function scanOnce(): Promise<number> {
    let names: string[];
    try {
      names = fs.readdirSync(deps.dir);
    } catch (err) {
      logger.error({ evt: 'maildrop', dir: deps.dir, err: (err as Error).message }, 'cannot read the drop folder');
      return 0;
    }
    let accepted = 0;
    for (const name of names.sort()) {
      if (isTempName(name)) {
        // a sendmail that died between create and rename leaves this; nobody finishes it
        try {
          const st = fs.statSync(path.join(deps.dir, name));
          if (deps.clock.now() - st.mtimeMs > STALE_TMP_MS) fs.rmSync(path.join(deps.dir, name), { force: true });
        } catch { /* gone */ }
        continue;
      }
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
      running ??= scanOnce().finally(() => { running = null; });
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

function toCrlf(b: Buffer): Buffer {
  return Buffer.from(b.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1');
}
