/**
 * A webhook receiver for tests: an HTTP server on 127.0.0.1 that records every request (raw
 * body, headers) and answers what the test's script says (200 by default), and a check of the
 * Postern-Signature computed here with node:crypto (independently of src/webhooks).
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import http from 'node:http';
import type net from 'node:net';

export interface Received {
  /** 1 for the first request, 2 for the next... */
  n: number;
  headers: http.IncomingHttpHeaders;
  raw: string;
  json: { id: string; type: string; created: string; customer: string; data: Record<string, unknown> };
  /** The status the receiver answered. */
  status: number;
  /** When it arrived (ms). */
  at: number;
}

export interface Receiver {
  url: string;
  port: number;
  received: Received[];
  close(): Promise<void>;
}

export type Answer = number | { status: number; headers?: Record<string, string> };

export async function startReceiver(answer: (n: number, body: Received['json']) => Answer = () => 200, port = 0): Promise<Receiver> {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const json = JSON.parse(raw) as Received['json'];
      const n = received.length + 1;
      const a = answer(n, json);
      const { status, headers } = typeof a === 'number' ? { status: a, headers: {} } : a;
      received.push({ n, headers: req.headers, raw, json, status, at: Date.now() });
      res.writeHead(status, headers).end(status < 300 ? 'ok' : 'not now');
    });
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  const p = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${p}/hook`,
    port: p,
    received,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** Asserts the request is signed with `secret` over its raw body, at a time near now. */
export function assertSigned(r: Received, secret: string): void {
  const header = String(r.headers['postern-signature'] ?? '');
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header);
  assert.ok(m, `a Postern-Signature header: ${header}`);
  const expected = createHmac('sha256', secret).update(`${m[1]}.${r.raw}`).digest('hex');
  assert.equal(m[2], expected, `the signature of ${r.json.type} ${r.json.id} is the HMAC of "t.body"`);
  assert.ok(Math.abs(Number(m[1]) - Date.now() / 1000) < 120, 'signed just now');
  assert.equal(r.headers['postern-event-id'], r.json.id);
  assert.equal(r.headers['postern-event-type'], r.json.type);
  assert.equal(r.headers['content-type'], 'application/json');
}
