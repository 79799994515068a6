/** The one error the editors raise: EditFailed, naming the field it happened at. */
import { ErrorCodes, GitOpsError } from '../../runtime/index.js';
import type { ErrorDetails } from '../../runtime/index.js';
import { formatPath } from './values.js';
import type { FieldPath } from './values.js';

export function editFailed(
  message: string,
  path: FieldPath,
  details: ErrorDetails = {},
  cause?: unknown,
): GitOpsError {
  const field = formatPath(path);
  return new GitOpsError(ErrorCodes.EditFailed, `cannot edit ${field}: ${message}`, {
    details: { field, fieldSegments: [...path], ...details },
    cause,
  });
}
