import { createHmac, timingSafeEqual } from 'node:crypto';
import { WEBHOOK_TOLERANCE_SECONDS } from '../../schemas/webhook.js';

/**
 * `X-Colony-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`: what a
 * studio sends. Signing the timestamp with the body lets the receiver refuse replays.
 */
export function signWebhook(
  secret: string,
  rawBody: string | Buffer,
  nowSeconds = Math.floor(Date.now() / 1000),
): string {
  const mac = createHmac('sha256', secret).update(`${nowSeconds}.`).update(rawBody).digest('hex');
  return `t=${nowSeconds},v1=${mac}`;
}

export type SignatureCheck = { ok: true } | { ok: false; reason: string };

/** Checks a signature header in constant time, within the replay tolerance. */
export function verifyWebhook(
  secret: string,
  rawBody: Buffer,
  header: string | undefined,
  nowSeconds = Math.floor(Date.now() / 1000),
  toleranceSeconds = WEBHOOK_TOLERANCE_SECONDS,
): SignatureCheck {
  if (!header) return { ok: false, reason: 'missing X-Colony-Signature header' };
  const parts = new Map<string, string[]>();
  for (const item of header.split(',')) {
    const eq = item.indexOf('=');
    if (eq <= 0) continue;
    const k = item.slice(0, eq).trim();
    parts.set(k, [...(parts.get(k) ?? []), item.slice(eq + 1).trim()]);
  }
  const t = parts.get('t')?.[0];
  if (!t || !/^\d{1,12}$/.test(t))
    return { ok: false, reason: 'signature has no valid t=<unix seconds>' };
  if (Math.abs(nowSeconds - Number(t)) > toleranceSeconds) {
    return {
      ok: false,
      reason: `signature timestamp is outside the ${toleranceSeconds} s tolerance`,
    };
  }
  const expected = createHmac('sha256', secret).update(`${t}.`).update(rawBody).digest();
  // Several v1 values are allowed so that a studio can roll its secret without downtime.
  for (const v1 of parts.get('v1') ?? []) {
    if (!/^[0-9a-f]{64}$/i.test(v1)) continue;
    if (timingSafeEqual(Buffer.from(v1, 'hex'), expected)) return { ok: true };
  }
  return { ok: false, reason: 'signature does not match' };
}
