/**
 * What `serve` would refuse or regret, found before it starts (`postern config check`): the
 * certificate and key files (readable, a key that belongs to its certificate, dates), two
 * listeners (or a listener and the HTTPS port) on one address and port, a data folder that
 * cannot be written, and a host name without a dot. Each finding names its key path. Reads
 * files only; binds nothing.
 */
import fs from 'node:fs';
import path from 'node:path';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import type { Config } from './schema.ts';
import { HOSTNAME_SHOWN_IN } from './hostname.ts';

export interface Finding {
  key: string;
  message: string;
}
export interface CheckResult {
  errors: Finding[];
  warnings: Finding[];
}

const DAY = 86_400_000;

/** The certificate pair at cert/key: errors (unreadable, mismatched) and warnings (dates). */
function checkPair(certKey: string, certFile: string, keyKey: string, keyFile: string, now: number, out: CheckResult): void {
  const read = (key: string, file: string): Buffer | null => {
    try {
      return fs.readFileSync(file);
    } catch (err) {
      out.errors.push({ key, message: `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` });
      return null;
    }
  };
  const certPem = read(certKey, certFile);
  const keyPem = read(keyKey, keyFile);
  let cert: X509Certificate | null = null;
  if (certPem) {
    try {
      cert = new X509Certificate(certPem);
    } catch (err) {
      out.errors.push({ key: certKey, message: `${certFile} is not a PEM certificate (${(err as Error).message})` });
    }
  }
  let privateKey = null;
  if (keyPem) {
    try {
      privateKey = createPrivateKey(keyPem);
    } catch (err) {
      out.errors.push({ key: keyKey, message: `${keyFile} is not a PEM private key (${(err as Error).message})` });
    }
  }
  if (cert && privateKey && !cert.checkPrivateKey(privateKey)) {
    out.errors.push({
      key: keyKey,
      message: `${keyFile} is not the key of the certificate ${certFile} (${cert.subject.replace(/\n/g, ', ')})`,
    });
  }
  if (!cert) return;
  const notAfter = Date.parse(cert.validTo);
  const notBefore = Date.parse(cert.validFrom);
  if (notAfter < now)
    out.warnings.push({
      key: certKey,
      message: `the certificate ${certFile} expired on ${new Date(notAfter).toISOString()}: mail programs will refuse it`,
    });
  else if (notAfter - now < 14 * DAY)
    out.warnings.push({ key: certKey, message: `the certificate ${certFile} expires on ${new Date(notAfter).toISOString()}` });
  if (notBefore > now)
    out.warnings.push({ key: certKey, message: `the certificate ${certFile} is not valid before ${new Date(notBefore).toISOString()}` });
}

const WILDCARD = new Set(['::', '0.0.0.0', '']);

/** Two sockets that cannot both be bound: same port, and the same address or either one every address. */
function clash(a: { host: string; port: number }, b: { host: string; port: number }): boolean {
  if (a.port === 0 || b.port === 0 || a.port !== b.port) return false;
  return a.host === b.host || WILDCARD.has(a.host) || WILDCARD.has(b.host);
}

function checkPorts(config: Config, out: CheckResult): void {
  const sockets = config.listeners.map((l, i) => ({ key: `listeners[${i}].port`, host: l.host, port: l.port, what: `${l.role} listener` }));
  if (config.web.enabled) sockets.push({ key: 'web.port', host: config.web.host, port: config.web.port, what: 'HTTPS listener' });
  for (let i = 0; i < sockets.length; i++) {
    for (let j = 0; j < i; j++) {
      const [a, b] = [sockets[j]!, sockets[i]!];
      if (clash(a, b))
        out.errors.push({ key: b.key, message: `port ${b.port} on ${b.host} is also taken by ${a.key} (${a.what} on ${a.host})` });
    }
  }
}

/** The folder, or the nearest existing folder above it (which `serve` creates it in). */
function checkWritable(key: string, dir: string, out: CheckResult): void {
  let at = dir;
  while (!fs.existsSync(at) && path.dirname(at) !== at) at = path.dirname(at);
  try {
    if (!fs.statSync(at).isDirectory()) {
      out.errors.push({ key, message: `${at} is not a folder` });
      return;
    }
    fs.accessSync(at, fs.constants.W_OK);
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    out.errors.push({
      key,
      message: at === dir ? `${dir} is not writable (${why})` : `${dir} does not exist and cannot be made in ${at} (${why})`,
    });
  }
}

export function checkConfig(config: Config, now = Date.now()): CheckResult {
  const out: CheckResult = { errors: [], warnings: [] };
  if (config.tls.cert && config.tls.key) checkPair('tls.cert', config.tls.cert, 'tls.key', config.tls.key, now, out);
  for (const [name, pair] of Object.entries(config.tls.sni))
    checkPair(`tls.sni.${name}.cert`, pair.cert, `tls.sni.${name}.key`, pair.key, now, out);
  checkPorts(config, out);
  checkWritable('dataDir', config.dataDir, out);
  const hostnameProblem = shortHostname(config.hostname);
  if (hostnameProblem) out.warnings.push({ key: 'hostname', message: hostnameProblem });
  return out;
}

/** The warning about a host name without a dot, naming where customers see it; null when fine. */
export function shortHostname(hostname: string): string | null {
  if (hostname.includes('.')) return null;
  return `"${hostname}" is not a fully qualified name; customers see it in ${HOSTNAME_SHOWN_IN.join(', ')}. Set hostname: (for example mail.provider.example) in the configuration, or give the machine a full name in /etc/hosts`;
}
