/**
 * JSON text that keeps integers exactly. A JavaScript number holds integers exactly only up to
 * 2^53 - 1; Kubernetes objects may hold any int64 or uint64 (a Car's `status.distance` is
 * 12176941420362965433). Such an integer is a `bigint` in our values: every integer that is not
 * a safe integer, and only those, so a value that fits stays a plain number. These functions
 * read and write JSON with that rule; `JSON.parse` would round the value and `JSON.stringify`
 * throws on a bigint.
 */
import { randomBytes } from 'node:crypto';

/** Up to 15 digits every integer is safe; a number token of 16 digits or more may not be. */
const LONG_DIGITS = /[0-9]{16}/;

/** `JSON.parse`, with every integer beyond ±(2^53 - 1) read exactly as a bigint. */
export function parseJsonExact(text: string): unknown {
  if (!LONG_DIGITS.test(text)) return JSON.parse(text);
  const marker = `\u0000${randomBytes(6).toString('hex')}:`;
  let found = false;
  const replaced = replaceUnsafeIntegers(text, (digits) => {
    found = true;
    return `"\\u0000${marker.slice(1)}${digits}"`;
  });
  if (!found) return JSON.parse(text);
  return JSON.parse(replaced, (_key, value: unknown) =>
    typeof value === 'string' && value.startsWith(marker) ? BigInt(value.slice(marker.length)) : value,
  );
}

/**
 * The integer tokens of a JSON text (outside strings, with no fraction or exponent) that are
 * not safe integers, replaced by what `replace` makes of their digits. Malformed text is left
 * for JSON.parse to refuse with its own message.
 */
function replaceUnsafeIntegers(text: string, replace: (digits: string) => string): string {
  let out = '';
  let last = 0;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) {
      i++;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d === 92 /* \ */) i += 2;
        else if (d === 34) break;
        else i++;
      }
      i++;
      continue;
    }
    if (c === 45 /* - */ || (c >= 48 && c <= 57)) {
      const start = i;
      i++;
      while (i < n && isNumberChar(text.charCodeAt(i))) i++;
      const token = text.slice(start, i);
      if (/^-?[0-9]+$/.test(token) && !Number.isSafeInteger(Number(token))) {
        out += text.slice(last, start) + replace(token);
        last = i;
      }
      continue;
    }
    i++;
  }
  return last === 0 ? text : out + text.slice(last);
}

function isNumberChar(c: number): boolean {
  return (c >= 48 && c <= 57) || c === 46 || c === 101 || c === 69 || c === 43 || c === 45;
}

type RawJson = (text: string) => unknown;
const rawJson = (JSON as unknown as { rawJSON?: RawJson }).rawJSON;

/**
 * `JSON.stringify(value, null, indent)`, writing a bigint as its exact digits. A value without
 * bigints costs what JSON.stringify costs.
 */
export function stringifyJson(value: unknown, indent?: number | string): string {
  try {
    return JSON.stringify(value, null, indent);
  } catch (err) {
    if (!(err instanceof TypeError) || !/BigInt/i.test(err.message)) throw err;
  }
  if (rawJson !== undefined) {
    return JSON.stringify(
      value,
      (_key, v: unknown) => (typeof v === 'bigint' ? rawJson(v.toString()) : v),
      indent,
    );
  }
  const marker = `bigint-${randomBytes(8).toString('hex')}:`;
  const text = JSON.stringify(
    value,
    (_key, v: unknown) => (typeof v === 'bigint' ? `${marker}${v.toString()}` : v),
    indent,
  );
  return text.replace(new RegExp(`"${marker}(-?[0-9]+)"`, 'g'), '$1');
}

/** True when `value` holds a bigint anywhere. */
export function containsBigInt(value: unknown): boolean {
  if (typeof value === 'bigint') return true;
  if (typeof value !== 'object' || value === null) return false;
  if (Array.isArray(value)) return value.some(containsBigInt);
  for (const key in value) {
    if (containsBigInt((value as Record<string, unknown>)[key])) return true;
  }
  return false;
}

/**
 * A copy of `value` with every bigint as the nearest number: for checks that only ask "is it an
 * integer, and about how large" (JSON Schema types, minimum, maximum), never for writing.
 */
export function withApproximateNumbers<T>(value: T): T {
  if (typeof value === 'bigint') return Number(value) as T;
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map((item: unknown) => withApproximateNumbers(item)) as T;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    Object.defineProperty(out, key, {
      value: withApproximateNumbers(item),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out as T;
}
