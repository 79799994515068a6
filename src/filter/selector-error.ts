/** The error for a selector that cannot be parsed or used, pointing at its column when known. */
import { makeError } from '../runtime/index.js';
import type { GitOpsError } from '../runtime/index.js';

export function selectorError(
  kind: 'labelSelector' | 'fieldSelector',
  message: string,
  selector: string | undefined,
  column?: number,
): GitOpsError {
  return makeError.BadRequest(message, {
    field: kind,
    ...(selector === undefined ? {} : { selector }),
    ...(column === undefined ? {} : { column }),
  });
}
