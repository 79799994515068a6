/**
 * API server answers that are not a success, turned into GitOpsErrors that keep the server's
 * own message, its reason as the code, and each cause (field and message) it listed.
 */
import { ErrorCodes, GitOpsError, isPlainObject } from '../runtime/index.js';
import type { ErrorCode, ErrorDetails } from '../runtime/index.js';

/** The `Status` object the API server sends with a failure (meta/v1). */
export interface KubeStatus {
  kind?: 'Status';
  status?: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  code?: number;
  details?: {
    name?: string;
    group?: string;
    kind?: string;
    causes?: Array<{ reason?: string; message?: string; field?: string }>;
    retryAfterSeconds?: number;
  };
}

const REASONS: Record<string, ErrorCode> = {
  NotFound: ErrorCodes.NotFound,
  AlreadyExists: ErrorCodes.AlreadyExists,
  Conflict: ErrorCodes.Conflict,
  Invalid: ErrorCodes.Invalid,
  BadRequest: ErrorCodes.BadRequest,
  Unauthorized: ErrorCodes.Unauthorized,
  Forbidden: ErrorCodes.Forbidden,
  Timeout: ErrorCodes.Timeout,
  ServerTimeout: ErrorCodes.Timeout,
  TooManyRequests: ErrorCodes.TooManyRequests,
  Gone: ErrorCodes.Gone,
  Expired: ErrorCodes.Gone,
  InternalError: ErrorCodes.InternalError,
  ServiceUnavailable: ErrorCodes.ServiceUnavailable,
  MethodNotAllowed: ErrorCodes.MethodNotAllowed,
  UnsupportedMediaType: ErrorCodes.UnsupportedMediaType,
  RequestEntityTooLarge: ErrorCodes.RequestEntityTooLarge,
};

const STATUS_CODES: Record<number, ErrorCode> = {
  400: ErrorCodes.BadRequest,
  401: ErrorCodes.Unauthorized,
  403: ErrorCodes.Forbidden,
  404: ErrorCodes.NotFound,
  405: ErrorCodes.MethodNotAllowed,
  409: ErrorCodes.Conflict,
  410: ErrorCodes.Gone,
  413: ErrorCodes.RequestEntityTooLarge,
  415: ErrorCodes.UnsupportedMediaType,
  422: ErrorCodes.Invalid,
  429: ErrorCodes.TooManyRequests,
  500: ErrorCodes.InternalError,
  503: ErrorCodes.ServiceUnavailable,
  504: ErrorCodes.Timeout,
};

export function isKubeStatus(value: unknown): value is KubeStatus {
  return isPlainObject(value) && value.kind === 'Status';
}

/** The error code for an HTTP status and (when the server sent one) a Status reason. */
export function errorCodeFor(httpStatus: number, reason?: string): ErrorCode {
  const byReason = reason === undefined ? undefined : REASONS[reason];
  if (byReason !== undefined) return byReason;
  return STATUS_CODES[httpStatus] ?? (httpStatus >= 500 ? ErrorCodes.InternalError : ErrorCodes.BadRequest);
}

export interface StatusErrorContext {
  method: string;
  /** The request path without its query (no secrets are ever in it). */
  path: string;
  server: string;
  /** The object the request was about, as an ObjectKey string. */
  object?: string;
  /** e.g. `apply`, `delete`, `list`: what we were doing, for the message. */
  verb?: string;
}

/** A GitOpsError for a failed answer, with the server's message verbatim. */
export function statusError(httpStatus: number, body: unknown, context: StatusErrorContext): GitOpsError {
  const status = isKubeStatus(body) ? body : undefined;
  const serverMessage =
    status?.message ??
    (typeof body === 'string' && body.trim() !== '' ? body.trim().slice(0, 1000) : undefined);
  const code = errorCodeFor(httpStatus, status?.reason);
  const what = context.verb
    ? `${context.verb} ${context.object ?? context.path}`
    : `${context.method} ${context.path}`;
  const message = `${what}: ${serverMessage ?? `the API server answered HTTP ${httpStatus}`}`;
  const details: ErrorDetails = { status: httpStatus, server: context.server, path: context.path };
  if (context.object !== undefined) details.object = context.object;
  if (status?.reason !== undefined) details.reason = status.reason;
  const causes = (status?.details?.causes ?? []).map(
    (c) =>
      new GitOpsError(code, c.message ?? c.reason ?? 'invalid', {
        details: {
          ...(c.field === undefined ? {} : { field: c.field.startsWith('.') ? c.field : `.${c.field}` }),
          ...(context.object === undefined ? {} : { object: context.object }),
          reason: c.reason,
        },
      }),
  );
  return new GitOpsError(code, message, { details, causes });
}
