/**
 * One POST to an endpoint, connected to an address the guard checked (the URL's host name is
 * kept for the Host header, SNI and certificate checks, but never looked up again). Redirects
 * are not followed; the answer's body is read and dropped (at most 64 KiB).
 */
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';

export interface PostResult {
  status: number;
  retryAfter: string | null;
}

const MAX_BODY = 64 * 1024;

/** A lookup that answers every name with the one checked address. */
function pinned(address: string, family: 4 | 6): LookupFunction {
  return ((_host: string, opts: { all?: boolean }, cb: (...a: unknown[]) => void) => {
    if (opts?.all) cb(null, [{ address, family }]);
    else cb(null, address, family);
  }) as unknown as LookupFunction;
}

export function postPinned(
  url: string,
  to: { address: string; family: 4 | 6 },
  body: string,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<PostResult> {
  const u = new URL(url);
  const client = u.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.request(
      u,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        lookup: pinned(to.address, to.family),
        agent: false,
        timeout: timeoutMs,
      },
      (res) => {
        let seen = 0;
        res.on('data', (c: Buffer) => {
          seen += c.length;
          if (seen > MAX_BODY) res.destroy();
        });
        const done = () => resolve({ status: res.statusCode ?? 0, retryAfter: (res.headers['retry-after'] as string | undefined) ?? null });
        res.on('end', done);
        res.on('close', done);
        res.on('error', done);
      },
    );
    const overall = setTimeout(() => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })), timeoutMs);
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
    req.on('error', (err) => {
      clearTimeout(overall);
      reject(err);
    });
    req.on('close', () => clearTimeout(overall));
    req.end(body);
  });
}
