/**
 * The admin API's mounting, without a server: a fake store and service show how it answers
 * each failure (401 and its ban counting, 429, 403, 413, 415, 400, 422 with the zod issues,
 * each AdminError kind, and 503 when the store fails) and that a response is cut to its schema.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { Hono } from 'hono';
import * as z from 'zod';
import { createLogger } from '../../observability/index.ts';
import type { Store } from '../../store/index.ts';
import type { ApiToken, IpBan } from '../../core/index.ts';
import type { AdminService } from '../service.ts';
import { AdminError } from '../errors.ts';
import type { Env } from '../../inject/api.ts';
import { mountAdminApi } from './mount.ts';
import { route, type AnyRoute } from './registry.ts';

const OP: ApiToken = {
  id: 1,
  name: 'ops',
  customerId: null,
  customerName: null,
  customerStatus: null,
  createdAt: 0,
  lastUsedAt: null,
  revokedAt: null,
};
const CU: ApiToken = { ...OP, id: 2, name: 'cu', customerId: 7, customerName: 'acme', customerStatus: 'active' };
const GOOD = `pat_${'o'.repeat(43)}`;
const CUSTOMER = `pat_${'c'.repeat(43)}`;

function setup(o: { banOf?: () => Promise<IpBan | null>; throwing?: unknown } = {}) {
  const failures: string[] = [];
  const store = {
    authGuard: {
      banOf: o.banOf ?? (async () => null),
      recordIpFailure: async (ip: string) => (failures.push(ip), failures.length >= 3),
    },
  } as unknown as Store;
  const service = {
    authenticateToken: async (v: string) => (v === GOOD ? OP : v === CUSTOMER ? CU : null),
  } as unknown as AdminService;
  const routes: AnyRoute[] = [
    route({
      method: 'post',
      path: '/things/{id}',
      tag: 't',
      access: 'customer',
      summary: 'echo',
      params: z.object({ id: z.string().regex(/^\d+$/) }),
      body: z.object({ n: z.number().int() }).strict(),
      response: z.object({ id: z.string(), n: z.number(), scope: z.string() }),
      status: 201,
      handler: async ({ params, body, scope }) => {
        if (o.throwing) throw o.throwing;
        return { id: params.id, n: body.n, scope: scope?.customerName ?? 'operator', secret: 'never shown' } as never;
      },
    }),
    route({
      method: 'get',
      path: '/admin-only',
      tag: 't',
      access: 'operator',
      summary: 'x',
      response: z.object({ ok: z.boolean() }),
      handler: async () => ({ ok: true }),
    }),
  ];
  const app = new Hono<Env>();
  const logger = createLogger('silent', new Writable({ write: (_c, _e, cb) => cb() }));
  mountAdminApi(app, routes, {
    store,
    clock: { now: () => 1_000_000 },
    logger,
    failureDelayMs: 0,
    maxBodyBytes: 100,
    lockout: { ipWindowMs: 60_000, ipFailures: 3, ipBanMs: 60_000, isTrusted: () => false } as never,
    service: () => service,
    removeBody: async () => undefined,
  });
  const env = { incoming: { socket: { remoteAddress: '192.0.2.1' } } };
  const req = async (
    method: string,
    path: string,
    o2: { token?: string; body?: string; type?: string; headers?: Record<string, string> } = {},
  ) => {
    const headers: Record<string, string> = { ...(o2.headers ?? {}) };
    if (o2.token) headers.authorization = `Bearer ${o2.token}`;
    if (o2.body !== undefined) headers['content-type'] = o2.type ?? 'application/json';
    const res = await app.request(`/api/v1${path}`, { method, headers, body: o2.body }, env);
    return { status: res.status, headers: res.headers, json: (await res.json()) as Record<string, any> };
  };
  return { req, failures };
}

test('a good request: the handler gets typed, validated input and the response is cut to its schema', async () => {
  const { req } = setup();
  const a = await req('POST', '/things/42', { token: GOOD, body: '{"n":3}' });
  assert.equal(a.status, 201);
  assert.deepEqual(a.json, { id: '42', n: 3, scope: 'operator' }, 'no field outside the response schema');
  assert.equal((await req('POST', '/things/42', { token: CUSTOMER, body: '{"n":3}' })).json.scope, 'acme');
});

test('401 with WWW-Authenticate for missing and unknown tokens; unknown ones count toward the address ban', async () => {
  const { req, failures } = setup();
  const none = await req('GET', '/admin-only');
  assert.equal(none.status, 401);
  assert.match(none.headers.get('www-authenticate')!, /^Bearer /);
  assert.deepEqual(failures, [], 'no token given: nothing guessed');
  assert.equal((await req('GET', '/admin-only', { token: 'pat_nope' })).status, 401);
  assert.deepEqual(failures, ['192.0.2.1']);
});

test('a banned address gets 429 with Retry-After; a customer token on an operator route 403', async () => {
  const banned = setup({ banOf: async () => ({ ip: '192.0.2.1', reason: 'x', failures: 3, bannedUntil: 1_030_000, createdAt: 0 }) });
  const a = await banned.req('GET', '/admin-only', { token: GOOD });
  assert.equal(a.status, 429);
  assert.equal(a.headers.get('retry-after'), '30');
  const { req } = setup();
  const f = await req('GET', '/admin-only', { token: CUSTOMER });
  assert.deepEqual([f.status, f.json.reason], [403, 'forbidden']);
  assert.equal((await req('GET', '/admin-only', { token: GOOD })).status, 200);
});

test('bodies: 413 past the limit, 415 not JSON, 400 broken JSON, 422 with the zod issues by place', async () => {
  const { req } = setup();
  assert.equal((await req('POST', '/things/1', { token: GOOD, body: JSON.stringify({ n: 1, pad: 'x'.repeat(200) }) })).status, 413);
  assert.equal((await req('POST', '/things/1', { token: GOOD, body: 'n=1', type: 'text/plain' })).status, 415);
  assert.equal((await req('POST', '/things/1', { token: GOOD, body: '{"n":' })).status, 400);
  const bad = await req('POST', '/things/x', { token: GOOD, body: '{"n":1}' });
  assert.deepEqual([bad.status, bad.json.errors.map((e: { path: string }) => e.path)], [422, ['params.id']]);
  const body = await req('POST', '/things/1', { token: GOOD, body: '{"n":1.5,"x":1}' });
  assert.deepEqual(body.json.errors.map((e: { path: string }) => e.path).sort(), ['body', 'body.n']);
});

test('service errors by kind (404, 409, 403, 422); anything else (the store failing) 503 with no detail of it', async () => {
  for (const [kind, status] of [
    ['not-found', 404],
    ['conflict', 409],
    ['forbidden', 403],
    ['invalid', 422],
  ] as const) {
    const a = await setup({ throwing: new AdminError('told', kind) }).req('POST', '/things/1', { token: GOOD, body: '{"n":1}' });
    assert.deepEqual([a.status, a.json.detail, a.json.reason], [status, 'told', kind]);
  }
  const down = await setup({ throwing: new Error('connect ECONNREFUSED 127.0.0.1:5432') }).req('POST', '/things/1', {
    token: GOOD,
    body: '{"n":1}',
  });
  assert.equal(down.status, 503);
  assert.doesNotMatch(JSON.stringify(down.json), /ECONNREFUSED/);
  const storeDown = await setup({
    banOf: async () => {
      throw new Error('SQLITE_BUSY');
    },
  }).req('GET', '/admin-only', { token: GOOD });
  assert.equal(storeDown.status, 503, 'the ban check failing is a 503, never a pass');
});

test('a control character (NUL) in the path, the query or a JSON string: 400 / 422 before the handler or the store sees it', async () => {
  const { req } = setup();
  const path = await req('POST', '/things/1%00', { token: GOOD, body: '{"n":1}' });
  assert.equal(path.status, 400);
  assert.match(path.json.detail, /control character/);
  assert.equal((await req('GET', '/admin-only?x=a%00b', { token: GOOD })).status, 400);
  const body = await req('POST', '/things/1', { token: GOOD, body: '{"n":1,"s":"a\\u0000b"}' });
  assert.equal(body.status, 422);
  assert.match(body.json.detail, /control character/);
  assert.equal((await req('POST', '/things/1', { token: GOOD, body: '{"n":1}' })).status, 201, 'clean input still works');
});
