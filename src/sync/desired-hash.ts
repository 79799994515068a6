/**
 * A stable hash of an object as we apply it: canonical JSON (keys sorted at every level) under
 * SHA-256. Stored on the live object, it says whether what Git wants has changed since our last
 * successful apply, without asking the server.
 */
import { createHash } from 'node:crypto';

/** JSON with keys sorted at every level, so equal values always give equal text. */
export function canonicalJson(value: unknown): string {
  // An integer beyond 2^53 (a bigint) as its exact digits, as JSON writes it.
  if (typeof value === 'bigint') return value.toString();
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item)).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** `sha256:<hex>` of the canonical JSON. */
export function desiredHash(value: unknown): string {
  return `sha256:${createHash('sha256').update(canonicalJson(value)).digest('hex')}`;
}
