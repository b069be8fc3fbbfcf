/**
 * The OpenAPI 3.1 document of the admin API, made from the route registry: the same zod schemas
 * that validate requests (as their input JSON Schema) and shape responses (as their output).
 */
import * as z from 'zod';
import { API_BASE, type AnyRoute } from './registry.ts';
import { Problem } from './schemas.ts';
import { sendApiOperation } from '../../inject/index.ts';

type Json = Record<string, unknown>;

const schemaOf = (s: z.ZodType, io: 'input' | 'output'): Json => {
  const { $schema: _drop, ...rest } = z.toJSONSchema(s, { io, unrepresentable: 'any' }) as Json;
  return rest;
};

const PROBLEM_REF = { $ref: '#/components/schemas/Problem' };
const problemResponse = (description: string) => ({ description, content: { 'application/problem+json': { schema: PROBLEM_REF } } });

function parameters(r: AnyRoute): Json[] {
  const out: Json[] = [];
  for (const [where, schema] of [
    ['path', r.params],
    ['query', r.query],
  ] as const) {
    if (!schema) continue;
    const shape = (schema as unknown as z.ZodObject).shape as Record<string, z.ZodType>;
    for (const [name, s] of Object.entries(shape)) {
      const js = schemaOf(s, 'input');
      out.push({
        name,
        in: where,
        required: where === 'path' || !s.isOptional(),
        ...(js.description ? { description: js.description } : {}),
        schema: js,
      });
    }
  }
  return out;
}

function operation(r: AnyRoute): Json {
  const status = String(r.status ?? 200);
  const responses: Json = {
    [status]: { description: 'OK', content: { 'application/json': { schema: schemaOf(r.response, 'output') } } },
    401: problemResponse('No token, or an unknown or revoked one'),
    ...(r.access === 'operator' ? { 403: problemResponse('A customer token (this operation needs an operator token)') } : {}),
    404: problemResponse(r.access === 'customer' ? 'No such object (or one of another customer)' : 'No such object'),
    422: problemResponse('The request is not valid (errors lists the fields)'),
    429: problemResponse('The client address is banned after failed logins'),
    503: problemResponse('The store did not answer'),
  };
  if (r.body)
    Object.assign(responses, {
      400: problemResponse('The body is not JSON'),
      409: problemResponse('Conflict (the name is taken)'),
      413: problemResponse('The body is too large'),
    });
  return {
    operationId: `${r.method}${r.path.replace(/\{(\w+)\}/g, 'By_$1').replace(/[^A-Za-z0-9]+(.)?/g, (_m, ch: string | undefined) => (ch ?? '').toUpperCase())}`,
    summary: r.summary,
    tags: [r.tag],
    'x-access': r.access,
    parameters: parameters(r),
    ...(r.body ? { requestBody: { required: false, content: { 'application/json': { schema: schemaOf(r.body, 'input') } } } } : {}),
    responses,
  };
}

/** GET /api/v1/openapi.json: this document. */
const openApiOperation: Json = {
  operationId: 'getOpenapiJson',
  summary: 'This OpenAPI document (no token needed)',
  tags: ['meta'],
  'x-access': 'public',
  security: [],
  responses: { 200: { description: 'The OpenAPI 3.1 document', content: { 'application/json': { schema: { type: 'object' } } } } },
};

/**
 * Every route under /api/v1 of the web listener: the admin routes of the registry, the send API
 * (POST /api/v1/messages, served by inject/) and this document itself.
 */
export function openApiDocument(routes: AnyRoute[]): Json {
  const paths: Record<string, Json> = {};
  for (const r of routes) (paths[API_BASE + r.path] ??= {})[r.method] = operation(r);
  (paths[`${API_BASE}/messages`] ??= {}).post = sendApiOperation(PROBLEM_REF);
  (paths[`${API_BASE}/openapi.json`] ??= {}).get = openApiOperation;
  return {
    openapi: '3.1.0',
    info: {
      title: 'Postern admin API',
      version: '1',
      description:
        'Provisioning and operations of Postern, and the send API (POST /api/v1/messages, x-access: site). Tokens: `postern token add NAME --operator | --customer C`. ' +
        'A customer token sees and changes its own customer only (x-access: customer); x-access: operator routes answer 403 to it. Errors are RFC 9457 problems.',
    },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }],
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'pat_... (postern token add)' },
        siteToken: { type: 'http', scheme: 'bearer', description: 'pst_... (postern site add): the send API only' },
        mailboxLogin: { type: 'http', scheme: 'basic', description: 'a mailbox address and password: the send API only, over TLS' },
      },
      schemas: { Problem: schemaOf(Problem, 'output') },
    },
    paths,
  };
}
