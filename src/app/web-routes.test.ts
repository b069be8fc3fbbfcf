/**
 * One API: every route the HTTPS listener answers under /api/v1 (the admin registry, the send
 * API, the document itself) is in the OpenAPI document. The app is built as the server builds
 * it, with every mount, and its route table is compared with the document: a route added
 * without being described fails here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Hono } from 'hono';
import { createLogger } from '../observability/index.ts';
import type { Store } from '../store/index.ts';
import { ADMIN_ROUTES, openApiDocument, API_BASE } from '../admin/api/index.ts';
import type { AdminService } from '../admin/service.ts';
import { createWebApp, type WebMounts } from './web.ts';
import type { Env, SendApiDeps } from '../inject/index.ts';

type Doc = { paths: Record<string, Record<string, unknown>> };

/** The routes of app under /api/v1 that the document does not describe, as "METHOD /path". */
function undocumented(app: Hono<Env>, doc: Doc): string[] {
  const missing = new Set<string>();
  for (const r of app.routes) {
    if (!r.path.startsWith(`${API_BASE}/`) || r.method === 'ALL') continue;
    const path = r.path.replace(/:(\w+)/g, '{$1}');
    if (!doc.paths[path]?.[r.method.toLowerCase()]) missing.add(`${r.method} ${path}`);
  }
  return [...missing];
}

function webApp(): Hono<Env> {
  const logger = createLogger('silent');
  const store = {} as Store;
  const service = () => ({ authenticateToken: async () => null }) as unknown as AdminService;
  const api = { store, logger, maxMessageSize: 1024, failureDelayMs: 0 } as unknown as Omit<SendApiDeps, 'channel' | 'mount'>;
  const mounts = {
    ops: { metricsAllow: [], ready: {} },
    admin: { store, logger, service, removeBody: async () => {}, maxBodyBytes: 1024 },
    console: { store, logger, service, removeBody: async () => {}, sessions: { sessionMs: 1, idleMs: 1 } },
  } as unknown as WebMounts;
  return createWebApp(api, mounts);
}

test('every route under /api/v1 of the web listener is in the OpenAPI document, the send API included', () => {
  const app = webApp();
  const doc = openApiDocument(ADMIN_ROUTES) as Doc;
  const served = app.routes.filter((r) => r.path.startsWith(`${API_BASE}/`) && r.method !== 'ALL');
  assert.ok(
    served.some((r) => r.method === 'POST' && r.path === `${API_BASE}/messages`),
    'the send API is served by this app',
  );
  assert.ok(served.length > ADMIN_ROUTES.length, 'the admin routes and the send API are all served');
  assert.deepEqual(undocumented(app, doc), []);
  const send = doc.paths[`${API_BASE}/messages`]!.post as {
    requestBody: { content: Record<string, { schema: { required?: string[] } }> };
    responses: Record<string, unknown>;
  };
  assert.deepEqual(Object.keys(send.requestBody.content).sort(), ['application/json', 'message/rfc822']);
  assert.deepEqual(send.requestBody.content['application/json']!.schema.required, ['from'], 'made from the validating schema');
  assert.ok(send.responses['202']);
});

test('a route served but not described is named by the check (so the test above can fail)', () => {
  const app = webApp();
  app.get(`${API_BASE}/secret-extra/:id`, (c) => c.text('x'));
  assert.deepEqual(undocumented(app, openApiDocument(ADMIN_ROUTES) as Doc), [`GET ${API_BASE}/secret-extra/{id}`]);
  const withoutSend = openApiDocument(ADMIN_ROUTES) as Doc;
  delete withoutSend.paths[`${API_BASE}/messages`];
  assert.deepEqual(undocumented(webApp(), withoutSend), [`POST ${API_BASE}/messages`]);
});
