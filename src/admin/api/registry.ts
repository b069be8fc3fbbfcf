/**
 * The route registry of the admin API: each route is data (method, path, schemas of its path
 * parameters, query, body and response, who may call it, and its handler). The HTTP mounting
 * (mount.ts) and the OpenAPI document (openapi.ts) are both made from this one list.
 */
import type { z } from 'zod';
import type { ApiToken } from '../../core/index.ts';
import type { AdminService } from '../service.ts';
import type { TenantScope } from '../errors.ts';

export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

/**
 * operator: operator tokens only (a customer token gets 403). customer: customer tokens too,
 * scoped to their customer (another customer's object answers 404, like a missing one).
 */
export type Access = 'operator' | 'customer';

type Obj = z.ZodType<Record<string, unknown>>;
type NoInput = z.ZodType<Record<string, never>>;

export interface HandlerContext<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  /** The admin service acting for this token (its changes are audited as api:NAME). */
  svc: AdminService;
  /** Undefined for an operator token; the customer of a customer token. */
  scope: TenantScope | undefined;
  token: ApiToken;
  /** Removes a spool file (message deletion, hold purge). */
  removeBody(relPath: string): Promise<void>;
}

export interface RouteDef<
  P extends Obj = NoInput,
  Q extends Obj = NoInput,
  B extends z.ZodType = NoInput,
  R extends z.ZodType = z.ZodType,
> {
  method: Method;
  /** OpenAPI style, under /api/v1: '/customers/{name}'. */
  path: string;
  summary: string;
  tag: string;
  access: Access;
  params?: P;
  query?: Q;
  body?: B;
  response: R;
  /** 200 unless said (201 for creations). */
  status?: 200 | 201;
  handler(ctx: HandlerContext<z.output<P>, z.output<Q>, z.output<B>>): Promise<z.input<R>>;
}

/** A route with its types erased, as the registry keeps it. */
export type AnyRoute = RouteDef<Obj, Obj, z.ZodType, z.ZodType>;

/** Declares a route, with its handler typed by its schemas. */
export function route<P extends Obj = NoInput, Q extends Obj = NoInput, B extends z.ZodType = NoInput, R extends z.ZodType = z.ZodType>(
  def: RouteDef<P, Q, B, R>,
): AnyRoute {
  return def as unknown as AnyRoute;
}

export const API_BASE = '/api/v1';

/** '/customers/{name}' -> '/api/v1/customers/:name' (hono's form). */
export const honoPath = (path: string): string => API_BASE + path.replace(/\{(\w+)\}/g, ':$1');
