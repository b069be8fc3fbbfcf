/**
 * The JSON conventions of the admin API, shared by the CLI's --json: a time is ISO 8601 UTC,
 * an absent value is null. Applied to values whose shape is not a schema of their own (the
 * before and after of an audit record, the rows of a CLI table).
 */
/** Keys whose numbers are times (epoch milliseconds inside the program). */
const TIME_KEY = /(At|Until|Since)$|^(at|since|until|oldest|windowStart|created)$/;

/**
 * A value as the JSON the API would give: times (numbers under a time key) as ISO 8601 UTC and
 * absent values (undefined) as null, at any depth. Exported for its unit test.
 */
export function apiJson(value: unknown, key = ''): unknown {
  if (value === undefined) return null;
  if (typeof value === 'number' && TIME_KEY.test(key) && Number.isFinite(value)) return new Date(value).toISOString();
  if (Array.isArray(value)) return value.map((v) => apiJson(v));
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, apiJson(v, k)]));
  }
  return value;
}
