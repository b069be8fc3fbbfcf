/** The registry itself: unique routes, path parameters that match their schemas, and the OpenAPI document made from it. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as z from 'zod';
import { ADMIN_ROUTES, openApiDocument, API_BASE } from './index.ts';
import { honoPath } from './registry.ts';
import { apiTokenHash, isApiToken, newApiToken } from '../tokens.ts';

test('every route is unique, and its path parameters are exactly the keys of its params schema', () => {
  const seen = new Set<string>();
  for (const r of ADMIN_ROUTES) {
    const key = `${r.method} ${r.path}`;
    assert.ok(!seen.has(key), `${key} twice`);
    seen.add(key);
    const inPath = (r.path.match(/\{(\w+)\}/g) ?? []).map((p) => p.slice(1, -1)).sort();
    const inSchema = r.params ? Object.keys((r.params as unknown as z.ZodObject).shape).sort() : [];
    assert.deepEqual(inSchema, inPath, key);
    assert.ok(r.summary && r.tag, key);
    if (r.method === 'get' || r.method === 'delete') assert.equal(r.body, undefined, `${key}: no body on ${r.method}`);
  }
  assert.equal(honoPath('/mailboxes/{address}/grants'), '/api/v1/mailboxes/:address/grants');
});

test('the OpenAPI document: every route once, unique operation ids, parameters from the schemas', () => {
  const doc = openApiDocument(ADMIN_ROUTES) as {
    paths: Record<string, Record<string, { operationId: string; parameters: { name: string; in: string; required: boolean }[] }>>;
  };
  const ops = Object.values(doc.paths).flatMap((p) => Object.values(p));
  assert.equal(ops.length, ADMIN_ROUTES.length + 2, 'every route, the send API and GET /openapi.json');
  assert.equal(new Set(ops.map((o) => o.operationId)).size, ops.length, 'operation ids are unique');
  const list = doc.paths[`${API_BASE}/queue`]!.get!;
  assert.deepEqual(
    list.parameters
      .filter((p) => p.in === 'query')
      .map((p) => `${p.name}:${p.required}`)
      .sort(),
    ['customer:false', 'domain:false', 'limit:false', 'sender:false', 'site:false', 'state:false'],
  );
  assert.doesNotThrow(() => JSON.parse(JSON.stringify(doc)));
});

test('API tokens: pat_ and 256 bits (base64url), recognised by shape, stored as SHA-256', () => {
  const t = newApiToken();
  assert.match(t, /^pat_[A-Za-z0-9_-]{43}$/);
  assert.ok(isApiToken(t));
  assert.ok(!isApiToken(`pst_${t.slice(4)}`), 'a site token is not an API token');
  assert.notEqual(newApiToken(), t);
  assert.match(apiTokenHash(t), /^[0-9a-f]{64}$/);
  assert.equal(apiTokenHash(t), apiTokenHash(t));
});
