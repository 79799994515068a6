/**
 * Plain-value helpers shared by the YAML and JSON editors: deep equality of decoded values,
 * and field paths in the `.spec.containers[0].image` form used in error details.
 */

/** One step of a field path: a map key or a sequence index. */
export type PathSegment = string | number;
export type FieldPath = readonly PathSegment[];

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** A value written as one YAML/JSON scalar (not a map or a list). */
export function isScalarValue(
  value: unknown,
): value is string | number | bigint | boolean | null | undefined {
  return (
    value === null ||
    value === undefined ||
    typeof value === 'string' ||
    typeof value === 'number' ||
    typeof value === 'bigint' ||
    typeof value === 'boolean'
  );
}

/** Keys whose value is not `undefined`: an `undefined` member means "absent", as in JSON. */
export function definedKeys(value: Record<string, unknown>): string[] {
  return Object.keys(value).filter((key) => value[key] !== undefined);
}

/**
 * Structural equality of decoded values. NaN equals NaN (a `.nan` left alone is unchanged),
 * members set to `undefined` count as absent, key order does not matter.
 */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a === 'number' && typeof b === 'number') return Number.isNaN(a) && Number.isNaN(b);
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i] ?? null, b[i] ?? null)) return false;
    return true;
  }
  if (isPlainObject(a)) {
    if (!isPlainObject(b)) return false;
    const keys = definedKeys(a);
    if (keys.length !== definedKeys(b).length) return false;
    for (const key of keys) {
      if (b[key] === undefined || !deepEqual(a[key], b[key])) return false;
    }
    return true;
  }
  if (a instanceof Uint8Array && b instanceof Uint8Array) {
    return a.length === b.length && a.every((byte, i) => byte === b[i]);
  }
  return false;
}

/** The first path where two values differ, or undefined when they are equal. */
export function firstDifference(a: unknown, b: unknown, path: PathSegment[] = []): PathSegment[] | undefined {
  if (deepEqual(a, b)) return undefined;
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      const found = firstDifference(a[i], b[i], [...path, i]);
      if (found) return found;
    }
  } else if (isPlainObject(a) && isPlainObject(b)) {
    for (const key of new Set([...definedKeys(a), ...definedKeys(b)])) {
      const found = firstDifference(a[key], b[key], [...path, key]);
      if (found) return found;
    }
  }
  return path;
}

const SIMPLE_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** `.metadata.labels["app.kubernetes.io/name"]`, `.spec.containers[0]`; the root is `.`. */
export function formatPath(path: FieldPath): string {
  if (path.length === 0) return '.';
  return path
    .map((segment) =>
      typeof segment === 'number'
        ? `[${segment}]`
        : SIMPLE_KEY.test(segment)
          ? `.${segment}`
          : `[${JSON.stringify(segment)}]`,
    )
    .join('');
}

/**
 * deepEqual that remembers what it compared, so that an editor walking down a changed path
 * does not compare the same large unchanged subtrees again at every level.
 */
export function memoizedDeepEqual(): (a: unknown, b: unknown) => boolean {
  const memo = new WeakMap<object, { other: unknown; equal: boolean }>();
  const equal = (a: unknown, b: unknown): boolean => {
    if (a === b) return true;
    if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null) return deepEqual(a, b);
    const hit = memo.get(a);
    if (hit !== undefined && hit.other === b) return hit.equal;
    let result: boolean;
    if (Array.isArray(a)) {
      result =
        Array.isArray(b) && a.length === b.length && a.every((item, i) => equal(item ?? null, b[i] ?? null));
    } else if (isPlainObject(a) && isPlainObject(b)) {
      const keys = definedKeys(a);
      result =
        keys.length === definedKeys(b).length &&
        keys.every((key) => b[key] !== undefined && equal(a[key], b[key]));
    } else result = deepEqual(a, b);
    memo.set(a, { other: b, equal: result });
    return result;
  };
  return equal;
}
