/**
 * DNS queries that report DNSSEC validation: each query asks a (validating) resolver with the
 * DO and AD bits and answers with the records and whether the resolver said they are
 * authentic (the AD bit). Node's own resolver shows neither the AD bit nor TLSA records, so
 * this speaks DNS itself (dns-packet), over UDP with a TCP retry when the answer is truncated.
 * Whether an AD bit may be believed at all is decided by `trustedResolvers` (daneStatus); this
 * file only asks. Never throws for DNS trouble: a failure is { rcode: 'SERVFAIL' | 'TIMEOUT' ... }.
 */
import dgram from 'node:dgram';
import dns from 'node:dns';
import net from 'node:net';
import { randomInt } from 'node:crypto';
import * as dnsPacket from 'dns-packet';

export interface SecureAnswer {
  /** NOERROR, NXDOMAIN, SERVFAIL, REFUSED ...; TIMEOUT when no server answered. */
  rcode: string;
  /** The resolver set AD: the answer (or the denial) was DNSSEC-validated. */
  secure: boolean;
  answers: dnsPacket.Answer[];
}

export interface SecureDns {
  query(name: string, type: dnsPacket.RecordType): Promise<SecureAnswer>;
}

export interface ServerAddress {
  host: string;
  port: number;
}

/** "127.0.0.1:53", "[::1]:5353" or a bare address (port 53). */
export function parseServer(s: string): ServerAddress {
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (v6) return { host: v6[1]!, port: Number(v6[2] ?? 53) };
  if (net.isIPv6(s)) return { host: s, port: 53 };
  const [host = '', port] = s.split(':');
  return { host, port: Number(port ?? 53) };
}

/** The servers asked: the configured ones, else the system's (as Node reads resolv.conf). */
export function serversOf(configured: string[]): ServerAddress[] {
  return (configured.length ? configured : dns.getServers()).map(parseServer);
}

export function createSecureDns(opts: { servers: string[]; timeoutMs: number; tries?: number }): SecureDns {
  const servers = serversOf(opts.servers);
  const tries = Math.max(1, opts.tries ?? 2);
  return {
    async query(name, type) {
      let last: SecureAnswer = { rcode: 'TIMEOUT', secure: false, answers: [] };
      for (let i = 0; i < tries; i++) {
        for (const server of servers) {
          const r = await ask(server, name, type, opts.timeoutMs * 2 ** i);
          if (!r) continue;
          if (r.rcode === 'SERVFAIL' || r.rcode === 'REFUSED') {
            last = r;
            continue;
          }
          return r;
        }
      }
      return last;
    },
  };
}

function request(name: string, type: dnsPacket.RecordType): Buffer {
  return dnsPacket.encode({
    type: 'query',
    id: randomInt(0, 65536),
    flags: dnsPacket.RECURSION_DESIRED | dnsPacket.AUTHENTIC_DATA,
    questions: [{ name, type, class: 'IN' }],
    additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: dnsPacket.DNSSEC_OK } as dnsPacket.Answer],
  });
}

function result(wire: Buffer, id: number): SecureAnswer | null {
  let p: dnsPacket.DecodedPacket;
  try {
    p = dnsPacket.decode(wire);
  } catch {
    return null;
  }
  if (p.id !== id || p.type !== 'response') return null;
  return {
    rcode: (p as { rcode?: string }).rcode ?? 'NOERROR',
    secure: ((p.flags ?? 0) & dnsPacket.AUTHENTIC_DATA) !== 0,
    answers: (p.answers ?? []) as dnsPacket.Answer[],
  };
}

/** One server: UDP, then TCP when truncated; null when it did not answer in time. */
async function ask(server: ServerAddress, name: string, type: dnsPacket.RecordType, timeoutMs: number): Promise<SecureAnswer | null> {
  const q = request(name, type);
  const id = q.readUInt16BE(0);
  const udp = await overUdp(server, q, timeoutMs);
  if (!udp) return null;
  const tc = (udp.readUInt16BE(2) & dnsPacket.TRUNCATED_RESPONSE) !== 0;
  if (!tc) return result(udp, id);
  const tcp = await overTcp(server, q, timeoutMs);
  return tcp ? result(tcp, id) : null;
}

function overUdp(server: ServerAddress, q: Buffer, timeoutMs: number): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const sock = dgram.createSocket(net.isIPv6(server.host) ? 'udp6' : 'udp4');
    const id = q.readUInt16BE(0);
    const done = (v: Buffer | null) => {
      clearTimeout(timer);
      try {
        sock.close();
      } catch {
        /* closed */
      }
      resolve(v);
    };
    const timer = setTimeout(() => done(null), timeoutMs);
    sock.on('error', () => done(null));
    sock.on('message', (msg) => {
      if (msg.length >= 12 && msg.readUInt16BE(0) === id) done(msg);
    });
    sock.send(q, server.port, server.host, (err) => {
      if (err) done(null);
    });
  });
}

function overTcp(server: ServerAddress, q: Buffer, timeoutMs: number): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: server.host, port: server.port });
    let buf = Buffer.alloc(0);
    const done = (v: Buffer | null) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => done(null), timeoutMs);
    sock.on('error', () => done(null));
    sock.on('connect', () => {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(q.length);
      sock.write(Buffer.concat([len, q]));
    });
    sock.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) done(buf.subarray(2, 2 + buf.readUInt16BE(0)));
    });
    sock.on('end', () => done(null));
  });
}
