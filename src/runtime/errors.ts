/**
 * The error catalogue. Every error the library raises is a GitOpsError with a stable `code`.
 * Codes of the storage and API kind follow the Kubernetes Status reasons, so a caller that
 * knows Kubernetes knows what they mean; the decoder adds its own, each tied to a location.
 */

import { redactUrlSecrets } from './redact-url.js';

export const ErrorCodes = {
  // Kubernetes Status reasons.
  NotFound: 'NotFound',
  AlreadyExists: 'AlreadyExists',
  Conflict: 'Conflict',
  Invalid: 'Invalid',
  BadRequest: 'BadRequest',
  Unauthorized: 'Unauthorized',
  Forbidden: 'Forbidden',
  Timeout: 'Timeout',
  TooManyRequests: 'TooManyRequests',
  Gone: 'Gone',
  InternalError: 'InternalError',
  ServiceUnavailable: 'ServiceUnavailable',
  MethodNotAllowed: 'MethodNotAllowed',
  UnsupportedMediaType: 'UnsupportedMediaType',
  RequestEntityTooLarge: 'RequestEntityTooLarge',
  // Lookups and finds.
  Ambiguous: 'Ambiguous',
  Aborted: 'Aborted',
  // Scheme.
  UnknownKind: 'UnknownKind',
  UnknownVersion: 'UnknownVersion',
  UnknownGroup: 'UnknownGroup',
  ConversionFailed: 'ConversionFailed',
  SchemeConflict: 'SchemeConflict',
  InvalidSchema: 'InvalidSchema',
  // Decoder and frames.
  YamlSyntax: 'YamlSyntax',
  JsonSyntax: 'JsonSyntax',
  DuplicateKey: 'DuplicateKey',
  FrameTooLarge: 'FrameTooLarge',
  TooManyFrames: 'TooManyFrames',
  AliasLimit: 'AliasLimit',
  NotAnObject: 'NotAnObject',
  MissingApiVersion: 'MissingApiVersion',
  MissingKind: 'MissingKind',
  MissingName: 'MissingName',
  InvalidApiVersion: 'InvalidApiVersion',
  UnknownField: 'UnknownField',
  TypeMismatch: 'TypeMismatch',
  UnsupportedContentType: 'UnsupportedContentType',
  EditFailed: 'EditFailed',
  /** Bytes that are not valid UTF-8 (manifests are UTF-8 text). */
  InvalidEncoding: 'InvalidEncoding',
  /** Values JSON cannot carry (`.nan`, `.inf`) or tags this library does not take (`!!binary`). */
  UnsupportedValue: 'UnsupportedValue',
  // Filesystem and paths.
  PathEscape: 'PathEscape',
  InvalidName: 'InvalidName',
  IoError: 'IoError',
  /** A file larger than a command reads (gitops fmt and validate: 16 MiB by default). */
  FileTooLarge: 'FileTooLarge',
  // Git, forge, cluster.
  GitError: 'GitError',
  HostKeyMismatch: 'HostKeyMismatch',
  AuthFailed: 'AuthFailed',
  PushRejected: 'PushRejected',
  Unreachable: 'Unreachable',
  // Sync engine.
  PruneRefused: 'PruneRefused',
  Unhealthy: 'Unhealthy',
  /** Two annotations of one object (ours, Argo CD's, Flux's, Helm's) ask for different things. */
  AnnotationConflict: 'AnnotationConflict',
  /** Helm (or another renderer) could not render a source path. */
  RenderFailed: 'RenderFailed',
  /** A hook did not succeed, so the sync stopped. */
  HookFailed: 'HookFailed',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** Where an error is, as precisely as it is known. Lines and columns are 1-based. */
export interface ErrorDetails {
  /** JSON-pointer-like path of the field, e.g. `.spec.template.spec.containers[0].image`. */
  field?: string;
  file?: string;
  /** 0-based index of the document (frame) in its file or stream. */
  document?: number;
  line?: number;
  column?: number;
  /** The object the error is about, in ObjectKey string form. */
  object?: string;
  /** Anything else worth reporting; never secrets. */
  [extra: string]: unknown;
}

export interface GitOpsErrorOptions {
  details?: ErrorDetails;
  cause?: unknown;
  /** Further problems of the same operation, e.g. every schema violation of one object. */
  causes?: GitOpsError[];
}

export class GitOpsError extends Error {
  readonly code: ErrorCode;
  readonly details: ErrorDetails;
  readonly causes: readonly GitOpsError[];

  constructor(code: ErrorCode, message: string, options: GitOpsErrorOptions = {}) {
    // A URL in a message or detail never shows a password, token, query value or fragment.
    super(redactUrlSecrets(message), options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GitOpsError';
    this.code = code;
    this.details = redactDetails(options.details ?? {});
    this.causes = options.causes ?? [];
  }

  /** `file:line:column: code: message`, with the parts that are known. */
  format(): string {
    return formatProblem(this);
  }

  /** A copy with more details (e.g. the file, once a caller above knows it). */
  withDetails(details: ErrorDetails): GitOpsError {
    const causes = this.causes.map((c) =>
      c.withDetails({ ...details, ...c.details, file: details.file ?? c.details.file }),
    );
    // The copy takes the original's stack, formatted only when read: formatting is the costly
    // part (with source maps, many times the rest), and capturing one for the copy is wasted.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    let copy: GitOpsError;
    try {
      copy = new GitOpsError(this.code, this.message, {
        details: { ...this.details, ...details },
        cause: this.cause,
        causes,
      });
    } finally {
      Error.stackTraceLimit = limit;
    }
    Object.defineProperty(copy, 'stack', {
      configurable: true,
      get: () => this.stack,
      set: (stack: string | undefined) => {
        Object.defineProperty(copy, 'stack', { configurable: true, writable: true, value: stack });
      },
    });
    return copy;
  }

  toJSON(): { code: ErrorCode; message: string; details: ErrorDetails } {
    return { code: this.code, message: this.message, details: this.details };
  }
}

function redactDetails(details: ErrorDetails): ErrorDetails {
  let copy: Record<string, unknown> | undefined;
  for (const [key, value] of Object.entries(details)) {
    if (typeof value !== 'string') continue;
    const safe = redactUrlSecrets(value);
    if (safe === value) continue;
    copy ??= { ...details };
    copy[key] = safe;
  }
  return (copy as ErrorDetails | undefined) ?? details;
}

export function isGitOpsError(err: unknown, code?: ErrorCode): err is GitOpsError {
  return err instanceof GitOpsError && (code === undefined || err.code === code);
}

/** Formats one problem as `file:line:column: code: message` (missing parts left out). */
export function formatProblem(err: { code: string; message: string; details?: ErrorDetails }): string {
  const d = err.details ?? {};
  const where: string[] = [];
  if (d.file !== undefined) where.push(d.file);
  if (d.line !== undefined) {
    where.push(String(d.line));
    if (d.column !== undefined) where.push(String(d.column));
  }
  const prefix = where.length > 0 ? `${where.join(':')}: ` : '';
  const field = d.field !== undefined && !err.message.includes(d.field) ? ` (at ${d.field})` : '';
  return `${prefix}${err.code}: ${err.message}${field}`;
}

/** Every problem an error stands for: itself, or the list it carries. */
export function flattenProblems(err: GitOpsError): GitOpsError[] {
  return err.causes.length > 0 ? err.causes.flatMap(flattenProblems) : [err];
}

/**
 * Wraps anything thrown into a GitOpsError, keeping the original as the cause; a GitOpsError
 * comes back as it is. `details` are given to a wrapped error only.
 */
export function toGitOpsError(
  err: unknown,
  code: ErrorCode = ErrorCodes.InternalError,
  details?: ErrorDetails,
): GitOpsError {
  if (err instanceof GitOpsError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new GitOpsError(code, message, { cause: err, ...(details === undefined ? {} : { details }) });
}

/** The same error with `context` in front of its message (code and details kept, original as cause). */
export function withContext(err: unknown, context: string): GitOpsError {
  const inner = toGitOpsError(err);
  return new GitOpsError(inner.code, `${context}: ${inner.message}`, {
    details: inner.details,
    cause: inner,
    causes: inner.causes as GitOpsError[],
  });
}

/** Builds one kind of error: a message, optionally where it is and what caused it. */
export type ErrorFactory = (message: string, details?: ErrorDetails, cause?: unknown) => GitOpsError;

/**
 * One factory per code of the catalogue, so that no layer needs a helper of its own:
 * `throw makeError.Invalid('branch names cannot contain ".."', { field: '.spec.branch' })`.
 */
export const makeError: { readonly [K in keyof typeof ErrorCodes]: ErrorFactory } = Object.freeze(
  Object.fromEntries(
    Object.values(ErrorCodes).map((code) => [
      code,
      (message: string, details?: ErrorDetails, cause?: unknown) =>
        new GitOpsError(code, message, {
          ...(details === undefined ? {} : { details }),
          ...(cause === undefined ? {} : { cause }),
        }),
    ]),
  ) as { [K in keyof typeof ErrorCodes]: ErrorFactory },
);

/** Creates a typed error; a short-hand used across the layers. */
export function gitopsError(
  code: ErrorCode,
  message: string,
  details?: ErrorDetails,
  cause?: unknown,
): GitOpsError {
  return new GitOpsError(code, message, { details, cause });
}

/** Invalid, about one field: `invalidField('must not be empty', '.spec.branch')`. */
export function invalidField(message: string, field: string, details?: ErrorDetails): GitOpsError {
  return makeError.Invalid(message, { ...details, field });
}

/**
 * An error shaped like Node's own socket errors (`code` = an errno name such as ETIMEDOUT), for
 * code that must look like a broken connection to whoever classifies network failures.
 */
export function systemError(message: string, errno: string): Error & { code: string } {
  return Object.assign(new Error(message), { code: errno });
}
