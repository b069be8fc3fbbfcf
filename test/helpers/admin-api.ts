/**
 * Client side of the admin API for integration tests: HTTPS to the web listener (self-signed
 * certificate accepted), a route named as the registry names it ('get', '/customers/{name}'),
 * the answer parsed, and its shape checked against the route's response schema (2xx) or the
 * problem schema (errors). Every route called is remembered, so a suite can prove it called
 * them all.
 */
import assert from 'node:assert/strict';
import https from 'node:https';
import type http from 'node:http';
import { ADMIN_ROUTES, API_BASE, type AnyRoute } from '../../src/admin/api/index.ts';
import { Problem } from '../../src/admin/api/schemas.ts';
import { webPort } from './api.ts';
import type { TestServer } from './server.ts';

const TIME_KEY = /(At|Until|Since)$|^(at|since|until|oldest|windowStart|created)$/;
/** Every place in a JSON value where a time (by its key) is not an ISO 8601 string or null: "path: value". */
export function epochTimes(v: unknown, path = '$', key = ''): string[] {
  if (TIME_KEY.test(key) && v !== null && !(typeof v === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(v)))
    return [`${path}: ${JSON.stringify(v)}`];
  if (Array.isArray(v)) return v.flatMap((x, i) => epochTimes(x, `${path}[${i}]`));
  if (v && typeof v === 'object') return Object.entries(v).flatMap(([k, x]) => epochTimes(x, `${path}.${k}`, k));
  return [];
}

export interface AdminAnswer<T = any> {
  status: number;
  headers: http.IncomingHttpHeaders;
  json: T;
  text: string;
}

export interface AdminRequest {
  token?: string;
  params?: Record<string, string>;
  query?: Record<string, string>;
  body?: unknown;
  /** A raw body (with its content type) instead of JSON. */
  raw?: { type: string; data: string | Buffer };
  authorization?: string;
}

/** Low level: one HTTPS request to the web listener. */
export function httpsCall(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string | number>,
  body?: Buffer,
): Promise<AdminAnswer> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', port, method: method.toUpperCase(), path, headers, rejectUnauthorized: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown = null;
          try {
            json = JSON.parse(text);
          } catch {
            /* not JSON */
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, json, text });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

export const routeOf = (method: string, path: string): AnyRoute => {
  const r = ADMIN_ROUTES.find((x) => x.method === method && x.path === path);
  if (!r) throw new Error(`no route ${method} ${path} in the registry`);
  return r;
};

export function createAdminClient(s: TestServer) {
  const called = new Map<string, Set<number>>();
  async function call<T = any>(method: AnyRoute['method'], path: string, o: AdminRequest = {}): Promise<AdminAnswer<T>> {
    const r = routeOf(method, path);
    const filled = path.replace(/\{(\w+)\}/g, (_m, k: string) => encodeURIComponent(o.params?.[k] ?? ''));
    const q = new URLSearchParams(o.query ?? {});
    const headers: Record<string, string | number> = {};
    if (o.token) headers.authorization = `Bearer ${o.token}`;
    if (o.authorization !== undefined) headers.authorization = o.authorization;
    let body: Buffer | undefined;
    if (o.raw) body = Buffer.from(o.raw.data);
    else if (o.body !== undefined) body = Buffer.from(JSON.stringify(o.body));
    if (body) {
      headers['content-type'] = o.raw?.type ?? 'application/json';
      headers['content-length'] = body.length;
    }
    const a = await httpsCall(webPort(s), method, `${API_BASE}${filled}${q.size ? `?${q}` : ''}`, headers, body);
    const key = `${method} ${path}`;
    if (!called.has(key)) called.set(key, new Set());
    called.get(key)!.add(a.status);
    if (a.status >= 200 && a.status < 300) {
      assert.match(String(a.headers['content-type']), /^application\/json/, `${key}: JSON`);
      assert.equal(a.status, r.status ?? 200, `${key}: status ${a.status} ${a.text}`);
      const parsed = r.response.safeParse(a.json);
      assert.ok(parsed.success, `${key}: the response matches its schema: ${parsed.success ? '' : parsed.error.message}`);
      assert.deepEqual(epochTimes(a.json), [], `${key}: times are ISO 8601, never epoch milliseconds`);
    } else {
      assert.match(String(a.headers['content-type']), /^application\/problem\+json/, `${key}: a problem (${a.status}): ${a.text}`);
      const p = Problem.safeParse(a.json);
      assert.ok(p.success, `${key}: problem shape: ${a.text}`);
      assert.equal(p.data.status, a.status);
    }
    return a as AdminAnswer<T>;
  }
  /** Calls a route and asserts its status. */
  async function expect<T = any>(status: number, method: AnyRoute['method'], path: string, o: AdminRequest = {}): Promise<AdminAnswer<T>> {
    const a = await call<T>(method, path, o);
    assert.equal(a.status, status, `${method} ${path}: expected ${status}, got ${a.status}: ${a.text}`);
    return a;
  }
  return { call, expect, called };
}
