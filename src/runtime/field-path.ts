/**
 * Field paths as errors report them: `.spec.template.spec.containers[0].image`. A map key that
 * is not a plain identifier is written as a JSON string in brackets, e.g.
 * `.metadata.labels["app.kubernetes.io/name"]`, so every path parses back to its segments.
 */

import { ErrorCodes, GitOpsError } from './errors.js';

export type FieldPathSegment = string | number;

const PLAIN_KEY = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;

export function formatFieldPath(segments: readonly FieldPathSegment[]): string {
  let out = '';
  for (const segment of segments) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (PLAIN_KEY.test(segment)) out += `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

/** The segments of a path written by formatFieldPath; numbers are list indexes. */
export function parseFieldPath(path: string): FieldPathSegment[] {
  const segments: FieldPathSegment[] = [];
  let i = 0;
  while (i < path.length) {
    const c = path[i];
    if (c === '.') {
      const m = /^[A-Za-z_$][A-Za-z0-9_$-]*/.exec(path.slice(i + 1));
      if (m === null) throw badPath(path, i);
      segments.push(m[0]);
      i += 1 + m[0].length;
    } else if (c === '[' && path[i + 1] === '"') {
      // Scan the JSON string, stepping over escapes, to its closing quote.
      let j = i + 2;
      while (j < path.length && path[j] !== '"') j += path[j] === '\\' ? 2 : 1;
      if (path[j + 1] !== ']') throw badPath(path, i);
      try {
        segments.push(JSON.parse(path.slice(i + 1, j + 1)) as string);
      } catch (cause) {
        // A bad escape such as `\q` inside the quotes.
        throw badPath(path, i, cause);
      }
      i = j + 2;
    } else if (c === '[') {
      const m = /^\[(\d+)\]/.exec(path.slice(i));
      if (m === null) throw badPath(path, i);
      segments.push(Number(m[1]));
      i += m[0].length;
    } else {
      throw badPath(path, i);
    }
  }
  return segments;
}

function badPath(path: string, offset: number, cause?: unknown): GitOpsError {
  return new GitOpsError(
    ErrorCodes.BadRequest,
    `${JSON.stringify(path)} is not a field path like ".spec.containers[0].image" (bad at character ${offset + 1})`,
    { details: { field: path }, cause },
  );
}
