/**
 * A small client of Gitea's REST API (/api/v1): JSON in and out, the token in the
 * Authorization header only, page-by-page listing, and errors that name the operation.
 */
import { ErrorCodes, GitOpsError } from '../runtime/index.js';
import type { ForgeOperation } from './forge-error.js';
import { forgeErrorMessage, forgeHttpError, forgeNetworkError } from './forge-error.js';
import type { ProviderContext } from './provider-config.js';

export interface GiteaResponse<T> {
  status: number;
  body: T;
  headers: Headers;
}

// Gitea caps pages at [api] MAX_RESPONSE_ITEMS, 50 by default.
const PAGE_SIZE = 50;
const MAX_PAGES = 200;

export function pathSegment(value: string): string {
  return encodeURIComponent(value);
}

export class GiteaClient {
  constructor(private readonly context: ProviderContext) {}

  async request<T>(
    op: ForgeOperation,
    method: string,
    path: string,
    options: {
      body?: unknown;
      query?: Record<string, string | number | undefined>;
      signal?: AbortSignal;
    } = {},
  ): Promise<GiteaResponse<T>> {
    const url = new URL(`${this.context.baseUrl}/api/v1${path}`);
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const headers: Record<string, string> = {
      accept: 'application/json',
      authorization: `token ${this.context.token}`,
      'user-agent': this.context.userAgent,
    };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await this.context.fetch(url, {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: options.signal,
      });
    } catch (err) {
      if (err instanceof GitOpsError && err.code !== ErrorCodes.Unreachable) throw err;
      throw forgeNetworkError(op, err);
    }
    const text = await response.text();
    if (!response.ok) {
      const retryAfter = Number(response.headers.get('retry-after'));
      throw forgeHttpError(op, response.status, forgeErrorMessage(text), {
        retryAfterSeconds: Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined,
      });
    }
    let body: unknown = undefined;
    if (text !== '') {
      try {
        body = JSON.parse(text) as unknown;
      } catch (cause) {
        throw new GitOpsError(
          ErrorCodes.InternalError,
          `Gitea answered ${op.action} with something that is not JSON`,
          {
            cause,
            details: { forge: 'gitea', status: response.status, action: op.action },
          },
        );
      }
    }
    return { status: response.status, body: body as T, headers: response.headers };
  }

  /** Every item of a listing, page by page; stops at a short page or the announced total. */
  async list<T>(
    op: ForgeOperation,
    path: string,
    query: Record<string, string | number | undefined> = {},
    signal?: AbortSignal,
  ): Promise<T[]> {
    const items: T[] = [];
    for (let page = 1; page <= MAX_PAGES; page++) {
      const { body, headers } = await this.request<T[]>(op, 'GET', path, {
        query: { ...query, page, limit: PAGE_SIZE },
        signal,
      });
      const batch = Array.isArray(body) ? body : [];
      items.push(...batch);
      const total = Number(headers.get('x-total-count'));
      if (batch.length < PAGE_SIZE || (Number.isFinite(total) && total > 0 && items.length >= total)) break;
    }
    return items;
  }
}
