/**
 * The drop folder (like Postfix's maildrop): where `postern sendmail` writes a message when the
 * server cannot be reached, so a website's mail is not lost while Postern restarts. The folder
 * is mode 1733 (anyone may create a file, nobody but its owner and the server may list or
 * remove); files are written under a random name as ".tmp-NAME", fsynced, then renamed, so the
 * server never reads half a file. A file is one line "POSTERN-DROP 1", one JSON line (the site
 * token, the envelope and the message's length, so a short write is caught), then the message.
 * Only node built-ins: sendmail loads this.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';

export const DROP_MAGIC = 'POSTERN-DROP 1\n';
export const DROP_DIR_MODE = 0o1733;
export const DROP_FILE_MODE = 0o640;

export interface DropEnvelope {
  token: string;
  from: string | null;
  to: string[];
  extract: boolean;
  fullName: string | null;
  /** When sendmail wrote it (ms since the epoch). */
  at: number;
  /** The message's length in bytes (a file with less is incomplete). */
  size: number;
}

export const isTempName = (name: string) => name.startsWith('.tmp-');

/** Writes a message durably into the drop folder; returns the file's name. */
export function writeDrop(dir: string, env: Omit<DropEnvelope, 'size'>, message: Buffer): string {
  const name = `${Date.now().toString(36)}-${randomBytes(12).toString('hex')}`;
  const tmp = path.join(dir, `.tmp-${name}`);
  const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants;
  const fd = fs.openSync(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, DROP_FILE_MODE);
  try {
    const data = Buffer.concat([Buffer.from(DROP_MAGIC + JSON.stringify({ ...env, size: message.length }) + '\n', 'utf8'), message]);
    for (let off = 0; off < data.length; ) off += fs.writeSync(fd, data, off, data.length - off);
    fs.fsyncSync(fd);
  } catch (err) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  fs.closeSync(fd);
  fs.renameSync(tmp, path.join(dir, name));
  // The rename is made durable by syncing the folder; a site user may not open the folder (it
  // is not readable to them). Then, after a crash, the fsynced file may be found under its
  // ".tmp-" name: the server takes in such a file when it is complete (its length matches).
  try {
    const dfd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(dfd);
    } finally {
      fs.closeSync(dfd);
    }
  } catch {
    /* EACCES for site users: see above */
  }
  return name;
}

const isStringOrNull = (v: unknown) => v === null || typeof v === 'string';

/** The envelope line of a drop file (from its first bytes): the envelope and where the message starts, or null. */
export function parseDropHead(buf: Buffer): { env: DropEnvelope; start: number } | null {
  if (!buf.subarray(0, DROP_MAGIC.length).equals(Buffer.from(DROP_MAGIC))) return null;
  const nl = buf.indexOf(0x0a, DROP_MAGIC.length);
  if (nl === -1) return null;
  let env: DropEnvelope;
  try {
    env = JSON.parse(buf.subarray(DROP_MAGIC.length, nl).toString('utf8')) as DropEnvelope;
  } catch {
    return null;
  }
  const valid =
    typeof env === 'object' &&
    env !== null &&
    typeof env.token === 'string' &&
    isStringOrNull(env.from) &&
    isStringOrNull(env.fullName) &&
    Array.isArray(env.to) &&
    env.to.every((t) => typeof t === 'string') &&
    typeof env.extract === 'boolean' &&
    Number.isFinite(env.at) &&
    Number.isSafeInteger(env.size) &&
    env.size >= 0;
  return valid ? { env, start: nl + 1 } : null;
}

/** The envelope and the message of a whole drop file, or null when it is not one (or is cut short). */
export function parseDrop(buf: Buffer): { env: DropEnvelope; message: Buffer } | null {
  const head = parseDropHead(buf);
  if (!head || buf.length - head.start !== head.env.size) return null;
  return { env: head.env, message: buf.subarray(head.start) };
}
