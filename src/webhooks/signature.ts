/**
 * Signing webhook requests, and the verifier customers can copy: `Postern-Signature:
 * t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`, keyed with the endpoint's whole
 * secret string ("whsec_..." as UTF-8). The timestamp bounds replays; the comparison is
 * constant-time.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'Postern-Signature';

/** A new endpoint secret: "whsec_" and 256 random bits (base64url). */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64url')}`;
}

function hmac(secret: string, t: number, body: string | Buffer): string {
  return createHmac('sha256', secret).update(`${t}.`).update(body).digest('hex');
}

/** The header value for a body sent at `t` (unix seconds). */
export function signatureHeader(secret: string, body: string | Buffer, t: number): string {
  return `t=${t},v1=${hmac(secret, t, body)}`;
}

export interface VerifyInput {
  /** The Postern-Signature header as received. */
  header: string | null | undefined;
  /** The raw request body, exactly as received (not re-serialized JSON). */
  body: string | Buffer;
  secret: string;
  /** Largest accepted difference between the signature's time and now (default 300 s). */
  toleranceSeconds?: number;
  /** Now in ms (default Date.now()). */
  now?: number;
}

/** True when the header carries a valid v1 signature of the body made within the tolerance. */
export function verifyWebhook(o: VerifyInput): boolean {
  if (!o.header) return false;
  const parts = o.header.split(',').map((p) => p.trim().split('='));
  const t = Number(parts.find(([k]) => k === 't')?.[1]);
  if (!Number.isInteger(t)) return false;
  const now = Math.floor((o.now ?? Date.now()) / 1000);
  if (Math.abs(now - t) > (o.toleranceSeconds ?? 300)) return false;
  const want = Buffer.from(hmac(o.secret, t, o.body), 'hex');
  return parts
    .filter(([k, v]) => k === 'v1' && v && /^[0-9a-f]{64}$/.test(v))
    .some(([, v]) => timingSafeEqual(Buffer.from(v!, 'hex'), want));
}
