/**
 * Resource limits of the reader. Manifests come from repositories and webhooks we do not
 * control, so a frame, a stream and an alias expansion are each bounded, and going past a
 * bound is a clear error rather than an exhausted process.
 */
import { ErrorCodes, GitOpsError } from '../../runtime/index.js';
import type { ErrorDetails } from '../../runtime/index.js';

export interface Limits {
  /** Largest document (frame) in bytes of UTF-8. */
  maxFrameBytes: number;
  /** Most documents (frames) in one file or stream, comment-only ones included. */
  maxFrames: number;
  /** Most alias references in one document once every alias is expanded (billion laughs). */
  maxAliases: number;
}

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxFrameBytes: 16 * 1024 * 1024,
  maxFrames: 10_000,
  maxAliases: 100,
});

/** The defaults with the caller's overrides; refuses values that are not positive integers. */
export function resolveLimits(overrides?: Partial<Limits>): Limits {
  const limits = { ...DEFAULT_LIMITS, ...overrides };
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new GitOpsError(
        ErrorCodes.BadRequest,
        `limit ${name} must be a non-negative integer, got ${String(value)}`,
        { details: { field: name } },
      );
    }
  }
  return limits;
}

/** The size of `text` in UTF-8 bytes, computed only when the character count cannot decide. */
export function exceedsBytes(text: string, maxBytes: number): boolean {
  if (text.length > maxBytes) return true;
  if (text.length * 3 <= maxBytes) return false;
  return Buffer.byteLength(text, 'utf8') > maxBytes;
}

export function frameTooLarge(limits: Limits, details: ErrorDetails): GitOpsError {
  return new GitOpsError(
    ErrorCodes.FrameTooLarge,
    `document is larger than the limit of ${limits.maxFrameBytes} bytes (maxFrameBytes); split it or raise the limit`,
    { details: { ...details, limit: limits.maxFrameBytes } },
  );
}

export function tooManyFrames(limits: Limits, details: ErrorDetails): GitOpsError {
  return new GitOpsError(
    ErrorCodes.TooManyFrames,
    `more than ${limits.maxFrames} documents in one stream (maxFrames); split the file or raise the limit`,
    { details: { ...details, limit: limits.maxFrames } },
  );
}

/** True when `c` may precede a node's properties: a line start, a blank or a flow indicator. */
function opensNode(c: number): boolean {
  return Number.isNaN(c) || c === 32 || c === 9 || c === 10 || c === 13 || c === 91 || c === 123 || c === 44;
}

/** True when `c` can start an anchor or alias name (not a blank, flow indicator or `&`/`*`). */
function startsName(c: number): boolean {
  return !opensNode(c) && c !== 93 && c !== 125 && c !== 38 && c !== 42;
}

/** True when `text` has `marker` (`&` or `*`) as a token: after a blank and before a name. */
function hasToken(text: string, marker: string): boolean {
  for (let i = text.indexOf(marker); i !== -1; i = text.indexOf(marker, i + 1)) {
    if (opensNode(text.charCodeAt(i - 1)) && startsName(text.charCodeAt(i + 1))) return true;
  }
  return false;
}

/**
 * True when a YAML text might use aliases: it has an anchor (`&name`) and an alias (`*name`)
 * token, not just the characters (`a && b`, `*.example.com` alone are no reason). When it is
 * false the parsed value shares no nodes and needs no alias accounting.
 */
export function mayHaveAliases(text: string): boolean {
  return hasToken(text, '&') && hasToken(text, '*');
}

/** What walking a parsed value found about shared (aliased) nodes. */
export interface AliasReport {
  /** Alias references in the fully expanded value, counted up to just past the limit. */
  aliases: number;
  /** True when a node contains itself (`&a [*a]`), which no JSON value can hold. */
  recursive: boolean;
  /** Path of the offending node when the limit was passed or a cycle was found. */
  path?: string;
}

/**
 * Counts alias references of a value parsed by js-yaml, which shares one object for an
 * anchor and its aliases: the second and later meetings of an object are aliases, each
 * costing what its own subtree expands to. Stops as soon as `max` is passed, so a
 * "billion laughs" document costs a few hundred steps, not a billion.
 */
export function countAliases(value: unknown, max: number): AliasReport {
  // object -> aliases inside its expansion; -1 while the object is being walked (a cycle).
  const seen = new Map<object, number>();
  const report: AliasReport = { aliases: 0, recursive: false };

  const visit = (node: object, path: string): number => {
    seen.set(node, -1);
    let total = 0;
    const entries: [string, unknown][] = Array.isArray(node)
      ? node.map((v, i) => [`[${i}]`, v])
      : Object.entries(node).map(([k, v]) => [`.${k}`, v]);
    for (const [step, child] of entries) {
      if (typeof child !== 'object' || child === null) continue;
      const known = seen.get(child);
      if (known === -1) {
        report.recursive = true;
        report.path = path + step;
        return Infinity;
      }
      total += known === undefined ? visit(child, path + step) : 1 + known;
      if (total > max) {
        report.path ??= path + step;
        return total;
      }
    }
    seen.set(node, total);
    return total;
  };

  if (typeof value === 'object' && value !== null) report.aliases = visit(value, '');
  return report;
}
