/**
 * Webhook signatures, computed and compared the way the forges document them. Comparisons run
 * in constant time over equal-length buffers, so a forger learns nothing from response timing.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** HMAC-SHA256 of the raw body, lower-case hex: GitHub's `sha256=` value and Gitea's whole header. */
export function hmacSha256Hex(secret: string, body: Uint8Array | string): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}

/** GitHub's `X-Hub-Signature-256` (and our generic `X-Signature-256`) value for a body. */
export function signSha256Header(secret: string, body: Uint8Array | string): string {
  return `sha256=${hmacSha256Hex(secret, body)}`;
}

/** True when `given` is the hex HMAC-SHA256 of `body` under `secret`; any other shape is false. */
export function hexSignatureMatches(secret: string, body: Uint8Array | string, given: string): boolean {
  if (!/^[0-9a-fA-F]{64}$/.test(given)) return false;
  const expected = createHmac('sha256', secret).update(body).digest();
  return timingSafeEqual(expected, Buffer.from(given, 'hex'));
}

/**
 * True when a shared token (GitLab's `X-Gitlab-Token`) equals the secret. Both are hashed first,
 * so the compare is constant-time even when the lengths differ.
 */
export function sharedTokenMatches(secret: string, given: string): boolean {
  const a = createHash('sha256').update(secret).digest();
  const b = createHash('sha256').update(given).digest();
  return timingSafeEqual(a, b) && secret.length > 0;
}
