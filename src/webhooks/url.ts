/** Which endpoint URLs Postern sends to: https:// (http:// only with webhooks.allowInsecure), no credentials in them. */

/** Why the URL is refused, or null when it is acceptable. */
export function urlProblem(input: string, allowInsecure: boolean): string | null {
  let u: URL;
  try {
    u = new URL(input);
  } catch {
    return `not a valid URL: ${input}`;
  }
  if (u.protocol !== 'https:' && !(u.protocol === 'http:' && allowInsecure)) {
    return `the URL must start with https://${u.protocol === 'http:' ? ' (http:// only with webhooks.allowInsecure, for tests)' : ''}: ${input}`;
  }
  if (u.username || u.password) return 'the URL must not carry a user name or password (the signature authenticates Postern)';
  if (u.hash) return 'the URL must not have a #fragment';
  if (input.length > 2000) return 'the URL is longer than 2000 characters';
  return null;
}
