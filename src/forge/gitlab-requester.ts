/**
 * The HTTP side of gitbeaker, replaced by ours: requests go through the retrying forge fetch,
 * the caller's AbortSignal reaches them, and failures become GitOpsErrors that name the
 * operation. gitbeaker's own requester retries with sub-second delays and ignores Retry-After.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { MergeRequests } from '@gitbeaker/rest';
import { GitOpsError, ErrorCodes } from '../runtime/index.js';
import type { ForgeOperation } from './forge-error.js';
import { forgeErrorMessage, forgeHttpError, forgeNetworkError } from './forge-error.js';
import type { ForgeFetch } from './forge-fetch.js';

export type GitLabRequesterFn = NonNullable<ConstructorParameters<typeof MergeRequests>[0]['requesterFn']>;
type ServiceOptions = Parameters<GitLabRequesterFn>[0];
type Requester = ReturnType<GitLabRequesterFn>;

interface CallScope {
  op: ForgeOperation;
  signal: AbortSignal | undefined;
}

const scope = new AsyncLocalStorage<CallScope>();

/** Runs one provider call; requests made inside carry its operation (for errors) and signal. */
export async function inGitLabCall<T>(
  op: ForgeOperation,
  signal: AbortSignal | undefined,
  fn: () => Promise<T>,
): Promise<T> {
  try {
    return await scope.run({ op, signal }, fn);
  } catch (err) {
    if (err instanceof GitOpsError) throw err;
    throw new GitOpsError(
      ErrorCodes.InternalError,
      `GitLab client failed to ${op.action}: ${(err as Error).message}`,
      {
        cause: err,
        details: { forge: 'gitlab', action: op.action },
      },
    );
  }
}

function snakeCase(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
}

function decamelize(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(decamelize);
  if (value === null || typeof value !== 'object' || value instanceof Date) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [snakeCase(k), decamelize(v)]));
}

/** GitLab's (Rails') query syntax: `key=v`, arrays as `key[]=v`. */
function queryString(params: Record<string, unknown> | undefined): string {
  const search = new URLSearchParams();
  for (const [rawKey, value] of Object.entries(params ?? {})) {
    if (value === undefined || value === null) continue;
    const key = snakeCase(rawKey);
    if (Array.isArray(value)) for (const item of value) search.append(`${key}[]`, String(item));
    else search.append(key, String(value));
  }
  return search.toString();
}

async function responseBody(response: Response): Promise<unknown> {
  if (response.status === 204) return null;
  const type = (response.headers.get('content-type') ?? '').split(';')[0]?.trim() ?? '';
  const text = await response.text();
  if (type === 'application/json' && text !== '') return JSON.parse(text) as unknown;
  return text;
}

export function gitLabRequesterFn(fetch: ForgeFetch, userAgent: string): GitLabRequesterFn {
  return (service: ServiceOptions): Requester => {
    const send = async (method: string, endpoint: string, options: Record<string, unknown> = {}) => {
      const current = scope.getStore();
      if (current === undefined) {
        throw new GitOpsError(ErrorCodes.InternalError, 'a GitLab request was made outside a provider call');
      }
      const base = service.url.endsWith('/') ? service.url : `${service.url}/`;
      const url = new URL(endpoint, base);
      url.search = queryString(options.searchParams as Record<string, unknown> | undefined);
      const headers: Record<string, string> = {
        ...service.headers,
        accept: 'application/json',
        'user-agent': userAgent,
      };
      for (const [name, value] of Object.entries(service.authHeaders)) headers[name] = await value();
      let body: string | undefined;
      const hasBody =
        options.body !== undefined &&
        options.body !== null &&
        !(typeof options.body === 'object' && Object.keys(options.body).length === 0);
      if (hasBody && method !== 'GET') {
        body = JSON.stringify(decamelize(options.body));
        headers['content-type'] = 'application/json';
      }
      let response: Response;
      try {
        response = await fetch(url, { method, headers, body, signal: current.signal });
      } catch (err) {
        if (err instanceof GitOpsError && err.code === ErrorCodes.Unreachable)
          throw forgeNetworkError(current.op, err);
        throw err;
      }
      const parsed = await responseBody(response);
      if (!response.ok) {
        const retryAfter = Number(response.headers.get('retry-after'));
        throw forgeHttpError(current.op, response.status, forgeErrorMessage(parsed), {
          retryAfterSeconds: Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined,
        });
      }
      return {
        body: parsed,
        headers: Object.fromEntries(response.headers.entries()),
        status: response.status,
      };
    };
    const requester = {
      get: (endpoint: string, options?: Record<string, unknown>) => send('GET', endpoint, options),
      post: (endpoint: string, options?: Record<string, unknown>) => send('POST', endpoint, options),
      put: (endpoint: string, options?: Record<string, unknown>) => send('PUT', endpoint, options),
      patch: (endpoint: string, options?: Record<string, unknown>) => send('PATCH', endpoint, options),
      delete: (endpoint: string, options?: Record<string, unknown>) => send('DELETE', endpoint, options),
    };
    // gitbeaker's result types are generic over the body; ours is whatever the server sent.
    return requester as unknown as Requester;
  };
}
