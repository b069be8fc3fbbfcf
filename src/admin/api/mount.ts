/**
 * Serves the registry's routes on the web listener's app: authenticates the token, refuses
 * operator routes to customer tokens (403), validates path, query and JSON body against the
 * route's schemas (400 / 413 / 415 / 422 problems), calls the handler with the admin service
 * acting for the token, and answers the response schema's view of the result. Service errors
 * become 404 / 409 / 403 / 422 problems; anything else (the store down) a 503.
 */
import type { Context, Hono } from 'hono';
import * as z from 'zod';
import type { Logger } from 'pino';
import { jsonHasControl, readLimited, urlHasControl } from '../../core/index.ts';
import { problem, type Env, type Problem } from '../../inject/index.ts';
import { AdminError } from '../errors.ts';
import type { AdminService } from '../service.ts';
import { scopeOf } from '../tokens.ts';
import { authenticateRequest, WWW_AUTHENTICATE, type AuthDeps } from './auth.ts';
import { API_BASE, honoPath, type AnyRoute } from './registry.ts';
import { openApiDocument } from './openapi.ts';

export interface AdminApiDeps extends Omit<AuthDeps, 'authenticate'> {
  /** The admin service acting for `actor` (its changes are audited). */
  service(actor: string): AdminService;
  /** Removes a spool file (message deletion, hold purge). */
  removeBody(relPath: string): Promise<void>;
  /** Largest JSON request body in bytes. */
  maxBodyBytes: number;
}

const emptyObject = z.object({});

function send(c: Context, p: Problem, headers: Record<string, string> = {}) {
  const h: Record<string, string> = { 'content-type': 'application/problem+json', 'cache-control': 'no-store', ...headers };
  if (p.retryAfter !== undefined) h['retry-after'] = String(p.retryAfter);
  return c.body(JSON.stringify(p), p.status as 400, h);
}

const STATUS: Record<AdminError['kind'], number> = { invalid: 422, 'not-found': 404, conflict: 409, forbidden: 403 };
const REASON: Record<AdminError['kind'], string> = {
  invalid: 'invalid',
  'not-found': 'not-found',
  conflict: 'conflict',
  forbidden: 'forbidden',
};

/** A schema failure as a 422 problem with the issues, their paths prefixed by where (params, query, body). */
function invalid(where: string, error: z.ZodError): Problem {
  return problem('invalid', 422, `The request's ${where} is not valid`, {
    errors: error.issues.map((i) => ({ path: [where, ...i.path.map(String)].join('.'), message: i.message })),
  });
}

/** The JSON body of a request (empty: {}), or a problem. */
async function jsonOf(c: Context<Env>, max: number): Promise<{ value: unknown } | Problem> {
  if (Number(c.req.header('content-length') ?? 0) > max) return problem('size', 413, `The request body exceeds ${max} bytes`);
  const text = await readLimited(c.req.raw.body, max);
  if (text === null) return problem('size', 413, `The request body exceeds ${max} bytes`);
  if (!text.trim()) return { value: {} };
  const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') return problem('bad-request', 415, 'Send the request body as application/json');
  try {
    return { value: JSON.parse(text) };
  } catch {
    return problem('bad-request', 400, 'The body is not valid JSON');
  }
}

function mountRoute(app: Hono<Env>, r: AnyRoute, deps: AdminApiDeps, auth: AuthDeps, logger: Logger): void {
  app.on(r.method.toUpperCase(), honoPath(r.path), async (c) => {
    const ip = c.env.incoming.socket.remoteAddress ?? '';
    try {
      const token = await authenticateRequest(auth, ip, c.req.header('authorization'));
      if ('status' in token) return send(c, token, token.status === 401 ? { 'www-authenticate': WWW_AUTHENTICATE } : {});
      if (r.access === 'operator' && token.customerId !== null)
        return send(c, problem('forbidden', 403, 'This operation needs an operator token'));
      if (urlHasControl(c.req.url))
        return send(
          c,
          problem(
            'bad-request',
            400,
            'The path or query contains a control character (such as NUL), which no name, address or id can contain',
          ),
        );
      const params = (r.params ?? emptyObject).safeParse(c.req.param());
      if (!params.success) return send(c, invalid('params', params.error));
      const query = (r.query ?? emptyObject).safeParse(c.req.query());
      if (!query.success) return send(c, invalid('query', query.error));
      let body: unknown = {};
      if (r.body) {
        const json = await jsonOf(c, deps.maxBodyBytes);
        if ('status' in json) return send(c, json);
        if (jsonHasControl(json.value))
          return send(
            c,
            problem('invalid', 422, 'A string of the body contains a control character (such as NUL); only tab, CR and LF are allowed'),
          );
        const parsed = r.body.safeParse(json.value);
        if (!parsed.success) return send(c, invalid('body', parsed.error));
        body = parsed.data;
      }
      const result = await r.handler({
        params: params.data,
        query: query.data,
        body,
        token,
        scope: scopeOf(token),
        svc: deps.service(`api:${token.name}`),
        removeBody: deps.removeBody,
      });
      const out = r.response.safeParse(result);
      if (!out.success) {
        logger.error({ evt: 'admin-api', route: `${r.method} ${r.path}`, err: out.error.message }, 'response does not match its schema');
        return send(c, problem('unavailable', 500, 'Internal error'));
      }
      return c.json(out.data as object, r.status ?? 200, { 'cache-control': 'no-store' });
    } catch (err) {
      if (err instanceof AdminError) return send(c, problem(REASON[err.kind], STATUS[err.kind], err.message));
      logger.error({ evt: 'admin-api', route: `${r.method} ${r.path}`, ip, err: (err as Error).message }, 'admin request failed');
      return send(c, problem('unavailable', 503, 'Temporarily unavailable (the store did not answer); try again later', { retryAfter: 5 }));
    }
  });
}

/** Mounts the routes and GET /api/v1/openapi.json (no token needed: it describes, it reveals nothing). */
export function mountAdminApi(app: Hono<Env>, routes: AnyRoute[], deps: AdminApiDeps): void {
  const tokens = deps.service('api');
  const auth: AuthDeps = { ...deps, authenticate: (v) => tokens.authenticateToken(v) };
  let doc: string | null = null;
  app.get(`${API_BASE}/openapi.json`, (c) =>
    c.body((doc ??= JSON.stringify(openApiDocument(routes))), 200, { 'content-type': 'application/json' }),
  );
  for (const r of routes) mountRoute(app, r, deps, auth, deps.logger);
}
