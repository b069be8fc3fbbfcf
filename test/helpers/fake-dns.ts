/**
 * A fake authoritative DNS server for tests, on loopback, over UDP and TCP on one port.
 * Answers from a zone object; unknown names get NXDOMAIN, known names without the asked type
 * get NODATA (NOERROR, no answers). A UDP answer over 512 bytes goes out truncated (TC bit, no
 * records) so the resolver retries over TCP, where the whole answer is served. Per name, a
 * `behavior` fakes a broken server: SERVFAIL, REFUSED, or no answer at all (timeout).
 * A name marked `secure` is answered with the AD bit, as a validating resolver answers for a
 * DNSSEC-signed zone (TLSA records for DANE); every other answer has AD clear.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import * as dnsPacket from 'dns-packet';

export interface FakeRecords {
  MX?: { preference: number; exchange: string }[];
  A?: string[];
  AAAA?: string[];
  TXT?: (string | string[])[];
  PTR?: string[];
  CNAME?: string;
  /** DANE: _25._tcp.HOST records; certificate is the association data (a hash or the DER). */
  TLSA?: { usage: number; selector: number; matchingType: number; certificate: Buffer }[];
  /** Answers for this name carry the AD bit (a validating resolver found the zone signed). */
  secure?: boolean;
  behavior?: 'servfail' | 'refused' | 'timeout';
  /** TTL of every answer; 0 by default so resolver caches never hide a setZone(). */
  ttl?: number;
}

export type FakeZone = Record<string, FakeRecords>;

export interface FakeDnsQuery {
  name: string;
  type: string;
  transport: 'udp' | 'tcp';
}

export interface FakeDns {
  /** "127.0.0.1:PORT" or "[::1]:PORT", as dns.Resolver#setServers takes it. */
  address: string;
  port: number;
  queries: FakeDnsQuery[];
  setZone(zone: FakeZone): void;
  close(): Promise<void>;
}

const UDP_LIMIT = 512;
const TCP_LIMIT = 65_535;
const RCODE = { NOERROR: 0, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

function normalize(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

function normalizeZone(zone: FakeZone): Map<string, FakeRecords> {
  return new Map(Object.entries(zone).map(([name, records]) => [normalize(name), records]));
}

function answersFor(name: string, type: string, r: FakeRecords): dnsPacket.Answer[] {
  const ttl = r.ttl ?? 0;
  const base = { name, ttl, class: 'IN' as const };
  switch (type) {
    case 'MX':
      return (r.MX ?? []).map((data) => ({ ...base, type: 'MX', data }));
    case 'A':
      return (r.A ?? []).map((data) => ({ ...base, type: 'A', data }));
    case 'AAAA':
      return (r.AAAA ?? []).map((data) => ({ ...base, type: 'AAAA', data }));
    case 'TXT':
      return (r.TXT ?? []).map((data) => ({ ...base, type: 'TXT', data }));
    case 'PTR':
      return (r.PTR ?? []).map((data) => ({ ...base, type: 'PTR', data }));
    case 'CNAME':
      return r.CNAME ? [{ ...base, type: 'CNAME', data: r.CNAME }] : [];
    case 'TLSA':
      return (r.TLSA ?? []).map((data) => ({ ...base, type: 'TLSA', data }));
    default:
      return [];
  }
}

/** The response to one query, or null when the zone says to stay silent. */
function respond(query: dnsPacket.DecodedPacket, zone: Map<string, FakeRecords>): dnsPacket.Packet | null {
  const q = query.questions?.[0];
  const flags = dnsPacket.AUTHORITATIVE_ANSWER | ((query.flags ?? 0) & dnsPacket.RECURSION_DESIRED);
  const reply = (rcode: number, answers: dnsPacket.Answer[] = []): dnsPacket.Packet => ({
    type: 'response',
    id: query.id,
    flags: flags | rcode,
    questions: query.questions ?? [],
    answers,
  });
  if (!q) return reply(RCODE.NOTIMP);
  const records = zone.get(normalize(q.name));
  if (!records) return reply(RCODE.NXDOMAIN);
  if (records.behavior === 'timeout') return null;
  if (records.behavior === 'servfail') return reply(RCODE.SERVFAIL);
  if (records.behavior === 'refused') return reply(RCODE.REFUSED);
  const answer = reply(RCODE.NOERROR, answersFor(q.name, q.type, records));
  if (records.secure) answer.flags = (answer.flags ?? 0) | dnsPacket.AUTHENTIC_DATA;
  return answer;
}

function decode(buf: Buffer): dnsPacket.DecodedPacket | null {
  try {
    return dnsPacket.decode(buf);
  } catch {
    return null;
  }
}

/** Bind UDP and TCP to the same free port (retrying when TCP finds the port taken). */
async function bindPair(host: string): Promise<{ udp: dgram.Socket; tcp: net.Server; port: number }> {
  for (let attempt = 0; ; attempt++) {
    const udp = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(0, host, () => {
        udp.off('error', reject);
        resolve();
      });
    });
    const port = udp.address().port;
    const tcp = net.createServer();
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen(port, host, () => {
          tcp.off('error', reject);
          resolve();
        });
      });
      return { udp, tcp, port };
    } catch (err) {
      udp.close();
      if (attempt >= 20) throw err;
    }
  }
}

export async function startFakeDns(zone: FakeZone, opts: { host?: '127.0.0.1' | '::1' } = {}): Promise<FakeDns> {
  const host = opts.host ?? '127.0.0.1';
  let current = normalizeZone(zone);
  const queries: FakeDnsQuery[] = [];
  const sockets = new Set<net.Socket>();
  const { udp, tcp, port } = await bindPair(host);

  const answer = (buf: Buffer, transport: FakeDnsQuery['transport']): Buffer | null => {
    const query = decode(buf);
    if (!query) return null;
    for (const q of query.questions ?? []) queries.push({ name: normalize(q.name), type: q.type, transport });
    const response = respond(query, current);
    if (!response) return null;
    const wire = dnsPacket.encode(response);
    if (wire.length <= (transport === 'tcp' ? TCP_LIMIT : UDP_LIMIT)) return wire;
    return dnsPacket.encode({ ...response, flags: (response.flags ?? 0) | dnsPacket.TRUNCATED_RESPONSE, answers: [] });
  };

  udp.on('message', (msg, rinfo) => {
    const out = answer(msg, 'udp');
    if (out) udp.send(out, rinfo.port, rinfo.address);
  });
  tcp.on('connection', (socket) => serveTcp(socket, sockets, (msg) => answer(msg, 'tcp')));

  return {
    address: net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`,
    port,
    queries,
    setZone(z) {
      current = normalizeZone(z);
    },
    async close() {
      for (const s of sockets) s.destroy();
      await Promise.all([
        new Promise<void>((resolve) => udp.close(() => resolve())),
        new Promise<void>((resolve) => tcp.close(() => resolve())),
      ]);
    },
  };
}

/** DNS over TCP: each message is preceded by its 2-byte length (RFC 1035 4.2.2). */
function serveTcp(socket: net.Socket, sockets: Set<net.Socket>, answer: (msg: Buffer) => Buffer | null): void {
  sockets.add(socket);
  socket.on('close', () => sockets.delete(socket));
  socket.on('error', () => socket.destroy());
  let pending = Buffer.alloc(0);
  socket.on('data', (chunk) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
      const len = pending.readUInt16BE(0);
      const out = answer(pending.subarray(2, 2 + len));
      pending = pending.subarray(2 + len);
      if (!out) continue;
      const prefix = Buffer.alloc(2);
      prefix.writeUInt16BE(out.length);
      socket.write(Buffer.concat([prefix, out]));
    }
  });
}
