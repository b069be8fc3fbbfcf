/**
 * Certificates for DANE tests, made with the openssl command: a private CA and a leaf for a
 * host name signed by it (the chain a server presents: leaf then CA), plus the TLSA
 * association data of any of them.
 */
import { execFileSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface TestChain {
  dir: string;
  leaf: X509Certificate;
  ca: X509Certificate;
  /** PEM: the leaf's key; the leaf followed by the CA (what a server sends). */
  key: string;
  chainPem: string;
}

const ssl = (dir: string, args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

export function makeChain(host: string, opts: { caName?: string } = {}): TestChain {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'postern-dane-'));
  ssl(dir, [
    'req',
    '-x509',
    ...EC,
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '30',
    '-subj',
    `/CN=${opts.caName ?? 'Postern Test CA'}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign',
  ]);
  ssl(dir, ['req', ...EC, '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', `/CN=${host}`]);
  fs.writeFileSync(path.join(dir, 'ext.cnf'), `subjectAltName=DNS:${host}\n`);
  ssl(dir, [
    'x509',
    '-req',
    '-in',
    'leaf.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'leaf.pem',
    '-days',
    '30',
    '-extfile',
    'ext.cnf',
  ]);
  const leafPem = fs.readFileSync(path.join(dir, 'leaf.pem'), 'utf8');
  const caPem = fs.readFileSync(path.join(dir, 'ca.pem'), 'utf8');
  return {
    dir,
    leaf: new X509Certificate(leafPem),
    ca: new X509Certificate(caPem),
    key: fs.readFileSync(path.join(dir, 'leaf.key'), 'utf8'),
    chainPem: leafPem + caPem,
  };
}

/** TLSA association data: selector 0 (whole certificate) or 1 (public key), matching 0 (as is), 1 (SHA-256), 2 (SHA-512). */
export function tlsaData(cert: X509Certificate, selector: 0 | 1, matchingType: 0 | 1 | 2): Buffer {
  const selected = selector === 0 ? cert.raw : cert.publicKey.export({ type: 'spki', format: 'der' });
  return matchingType === 0
    ? selected
    : createHash(matchingType === 1 ? 'sha256' : 'sha512')
        .update(selected)
        .digest();
}
