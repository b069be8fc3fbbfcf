/**
 * A delivery lab for integration tests: a fake DNS server, fake MX hosts on 127.0.0.x sharing
 * one port (delivery.mxPort), and a Postern test server that delivers through them with short
 * retry timings. Helpers submit over 587 and wait for queue and MX states.
 */
import net from 'node:net';
import nodemailer, { type SendMailOptions } from 'nodemailer';
import { simpleParser, type ParsedMail } from 'mailparser';
import { startFakeDns, type FakeDns, type FakeZone } from './fake-dns.ts';
import { startFakeMx, type FakeMx, type FakeMxOptions, type FakeMxScript } from './fake-mx.ts';
import { startTestServer, type TestServer } from './server.ts';
import type { ConfigInput } from '../../src/config/index.ts';

export interface DeliveryLab {
  dns: FakeDns;
  port: number;
  s: TestServer;
  mx(host: string, script: FakeMxScript, opts?: FakeMxOptions): Promise<FakeMx>;
  submit(mail: SendMailOptions): Promise<string>;
  /** Submits as another mailbox (over 587 with its own login); returns the queue id. */
  submitAs(user: string, pass: string, mail: SendMailOptions): Promise<string>;
  close(): Promise<void>;
}

export async function freePort(host = '127.0.0.1'): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, host, r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** Polls until `check` returns a truthy value (or throws after timeoutMs). */
export async function until<T>(check: () => T | Promise<T>, timeoutMs = 10_000, what = 'condition'): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

type Settings = Record<string, unknown>;

/** `delivery` settings may depend on the MX port the lab picked. */
export async function startDeliveryLab(
  zone: FakeZone,
  delivery: Settings | ((port: number) => Settings) = {},
  extra: Partial<ConfigInput> = {},
): Promise<DeliveryLab> {
  const dns = await startFakeDns(zone);
  const port = await freePort();
  const mxs: FakeMx[] = [];
  const { dns: dnsExtra, ...rest } = extra;
  const s = await startTestServer({
    // extra.dns adds to the lab's DNS settings (dns.validating for DANE) instead of replacing them
    dns: { servers: [dns.address], timeoutMs: 300, tries: 1, ...dnsExtra },
    delivery: {
      allowLoopback: true,
      mxPort: port,
      pollIntervalMs: 50,
      retryMinutes: [0.002],
      mtaSts: false,
      connectTimeoutSeconds: 2,
      greetingTimeoutSeconds: 2,
      commandTimeoutSeconds: 2,
      dataTimeoutSeconds: 2,
      ...(typeof delivery === 'function' ? delivery(port) : delivery),
    },
    ...rest,
  } as Partial<ConfigInput>);
  await s.addMailbox('alice@example.com', 'alice-secret-1');
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port: s.port('submission'),
    requireTLS: true,
    auth: { user: 'alice@example.com', pass: 'alice-secret-1' },
    tls: { rejectUnauthorized: false },
  });
  return {
    dns,
    port,
    s,
    async mx(host, script, opts = {}) {
      const m = await startFakeMx(script, { host, port, ...opts });
      mxs.push(m);
      return m;
    },
    async submit(mail) {
      const info = await transport.sendMail({ from: 'alice@example.com', subject: 'test', text: 'hello', ...mail });
      const id = /queued as (\S+)/.exec(info.response)?.[1];
      if (!id) throw new Error(`no queue id in ${info.response}`);
      return id;
    },
    async submitAs(user, pass, mail) {
      const tr = nodemailer.createTransport({
        host: '127.0.0.1',
        port: s.port('submission'),
        requireTLS: true,
        auth: { user, pass },
        tls: { rejectUnauthorized: false },
      });
      try {
        const info = await tr.sendMail({ from: user, text: 'hello', ...mail });
        const id = /queued as (\S+)/.exec(info.response)?.[1];
        if (!id) throw new Error(`no queue id in ${info.response}`);
        return id;
      } finally {
        tr.close();
      }
    },
    async close() {
      transport.close();
      await s.close();
      for (const m of mxs) await m.close();
      await dns.close();
    },
  };
}

export function parse(data: Buffer): Promise<ParsedMail> {
  return simpleParser(data);
}

/** The delivery-status part of a DSN as a list of field blocks (per-message first). */
export function statusBlocks(raw: string): Record<string, string>[] {
  const m = /Content-Type: message\/(?:global-)?delivery-status\r?\n(?:[^\r\n]+\r?\n)*\r?\n([\s\S]*?)\r?\n--/i.exec(raw);
  if (!m) throw new Error('no message/delivery-status part');
  return m[1]!
    .trim()
    .split(/\r?\n\r?\n/)
    .map((block) => {
      const fields: Record<string, string> = {};
      for (const line of block.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
        const i = line.indexOf(':');
        if (i > 0) fields[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
      }
      return fields;
    });
}
