/**
 * Client side of the send API for integration tests: HTTPS to the web listener (self-signed
 * certificate accepted) or HTTP over the sendmail socket, with the answer parsed as JSON.
 */
import http from 'node:http';
import https from 'node:https';
import type { TestServer } from './server.ts';

export interface ApiAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  json: Record<string, unknown> & { errors?: { path: string; message: string }[] };
}

export interface ApiRequest {
  auth?: { token: string } | { user: string; pass: string } | { raw: string };
  type?: string;
  body: string | Buffer | object;
  query?: Record<string, string | string[]>;
  path?: string;
  /** Over the sendmail socket instead of HTTPS. */
  socket?: boolean;
}

export function webPort(s: TestServer): number {
  const a = s.server.local?.webAddress();
  if (!a) throw new Error('the web listener is off');
  return a.port;
}

export function apiPost(s: TestServer, r: ApiRequest): Promise<ApiAnswer> {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(r.query ?? {})) for (const x of Array.isArray(v) ? v : [v]) q.append(k, x);
  const body = typeof r.body === 'string' || Buffer.isBuffer(r.body) ? Buffer.from(r.body) : Buffer.from(JSON.stringify(r.body));
  const type = r.type ?? (typeof r.body === 'string' || Buffer.isBuffer(r.body) ? 'message/rfc822' : 'application/json');
  const headers: Record<string, string | number> = { 'content-type': type, 'content-length': body.length };
  if (r.auth && 'token' in r.auth) headers.authorization = `Bearer ${r.auth.token}`;
  else if (r.auth && 'user' in r.auth) headers.authorization = `Basic ${Buffer.from(`${r.auth.user}:${r.auth.pass}`).toString('base64')}`;
  else if (r.auth) headers.authorization = r.auth.raw;
  const path = `${r.path ?? '/api/v1/messages'}${q.size ? `?${q}` : ''}`;
  return new Promise((resolve, reject) => {
    const onRes = (res: http.IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: ApiAnswer['json'];
        try {
          json = JSON.parse(text);
        } catch {
          json = { text };
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, json });
      });
    };
    const req = r.socket
      ? http.request({ socketPath: s.server.local!.socketPath, method: 'POST', path, headers }, onRes)
      : https.request({ host: '127.0.0.1', port: webPort(s), method: 'POST', path, headers, rejectUnauthorized: false }, onRes);
    req.on('error', reject);
    req.end(body);
  });
}
