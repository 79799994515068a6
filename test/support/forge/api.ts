/**
 * A minimal client of the Gitea REST API (/api/v1), enough for the tests' fixtures. Credentials
 * travel only in the Authorization header, never in URLs, logs or error messages.
 */
import type { ErrorCode } from '../../../src/runtime/errors.js';
import { ErrorCodes, GitOpsError } from '../../../src/runtime/errors.js';

/** A personal access token, or a user's password (basic auth). */
export type ForgeAuth = { token: string } | { username: string; password: string };

export function authorizationHeader(auth: ForgeAuth): string {
  if ('token' in auth) return `token ${auth.token}`;
  return `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
}

function codeForStatus(status: number): ErrorCode {
  switch (status) {
    case 400:
      return ErrorCodes.BadRequest;
    case 401:
      return ErrorCodes.Unauthorized;
    case 403:
      return ErrorCodes.Forbidden;
    case 404:
      return ErrorCodes.NotFound;
    case 405:
      return ErrorCodes.MethodNotAllowed;
    case 409:
      return ErrorCodes.Conflict;
    case 413:
      return ErrorCodes.RequestEntityTooLarge;
    case 422:
      return ErrorCodes.Invalid;
    case 429:
      return ErrorCodes.TooManyRequests;
    case 503:
      return ErrorCodes.ServiceUnavailable;
    default:
      return ErrorCodes.InternalError;
  }
}

/** Gitea answers errors as `{message, url}` or `{message, errors}`; keep only the message. */
function errorMessage(text: string): string {
  try {
    const body = JSON.parse(text) as { message?: unknown };
    if (typeof body.message === 'string' && body.message) return body.message;
  } catch {
    // not JSON: fall through to the raw text
  }
  return text.trim().slice(0, 300) || '(empty body)';
}

export class GiteaApi {
  constructor(
    readonly baseUrl: string,
    private readonly defaultAuth: ForgeAuth,
    private readonly timeoutMs = 30_000,
  ) {}

  /** Calls `/api/v1${path}` and returns the decoded JSON (undefined for 204). */
  async request<T>(
    method: string,
    path: string,
    body?: unknown,
    auth: ForgeAuth = this.defaultAuth,
  ): Promise<T> {
    const headers: Record<string, string> = {
      accept: 'application/json',
      authorization: authorizationHeader(auth),
    };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}/api/v1${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      throw new GitOpsError(
        ErrorCodes.Unreachable,
        `cannot reach the test forge at ${this.baseUrl} (${method} ${path}): is it still running?`,
        { cause: err, details: { method, path } },
      );
    }
    const text = await response.text();
    if (!response.ok) {
      throw new GitOpsError(
        codeForStatus(response.status),
        `forge ${method} ${path} answered ${response.status}: ${errorMessage(text)}`,
        { details: { method, path, status: response.status } },
      );
    }
    if (!text) return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch (err) {
      throw new GitOpsError(ErrorCodes.InternalError, `forge ${method} ${path} answered non-JSON`, {
        cause: err,
        details: { method, path, status: response.status },
      });
    }
  }
}

/** Path segments come from tests, but must still never change which endpoint is called. */
export function segment(value: string): string {
  return encodeURIComponent(value);
}
