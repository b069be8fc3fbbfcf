/**
 * An operator's mistake: shown as one line (CLI) or a problem response (API), never a trace.
 * Its kind tells the API which status to answer: invalid 422, not-found 404, conflict 409,
 * forbidden 403.
 */
export type AdminErrorKind = 'invalid' | 'not-found' | 'conflict' | 'forbidden';

export class AdminError extends Error {
  readonly kind: AdminErrorKind;
  constructor(message: string, kind: AdminErrorKind = 'invalid') {
    super(message);
    this.name = 'AdminError';
    this.kind = kind;
  }
}

/** Something named does not exist, or belongs to another customer than the caller's (the same answer). */
export const missing = (message: string): AdminError => new AdminError(message, 'not-found');

/**
 * Whose objects a caller may see and change: absent for an operator (every customer), or one
 * customer (a customer's API token). An object of another customer is answered exactly like
 * a missing one.
 */
export interface TenantScope {
  customerId: number;
  customerName: string;
}

/** The object's customer is visible to the scope. */
export const sees = (scope: TenantScope | undefined, customerId: number | null): boolean => !scope || scope.customerId === customerId;
