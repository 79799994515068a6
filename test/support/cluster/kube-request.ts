/**
 * Plain HTTPS requests to a cluster with its client certificate or token: enough for test
 * set-up (namespaces, readiness) without depending on the library's own kube layer under test.
 */
import { request } from 'node:https';

import { ErrorCodes, GitOpsError } from '../../../src/runtime/errors.js';

/** How to reach a cluster: a kubeconfig for kubectl, and the same access for plain HTTPS. */
export interface ClusterAccess {
  kubeconfigPath: string;
  /** e.g. `https://127.0.0.1:41234` */
  server: string;
  caPem?: string;
  certPem?: string;
  keyPem?: string;
  token?: string;
  /** Only for a user's kubeconfig that says so. */
  insecureSkipTlsVerify?: boolean;
}

export interface KubeResponse<T = unknown> {
  status: number;
  body: T;
}

export interface KubeRequestOptions {
  body?: unknown;
  /** Defaults to application/json when there is a body; SSA needs application/apply-patch+yaml. */
  contentType?: string;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** One request; resolves with any HTTP status (the caller decides what is an error). */
export async function kubeRequest<T = unknown>(
  access: ClusterAccess,
  method: string,
  path: string,
  options: KubeRequestOptions = {},
): Promise<KubeResponse<T>> {
  const url = new URL(path, access.server);
  const payload =
    options.body === undefined
      ? undefined
      : typeof options.body === 'string'
        ? options.body
        : JSON.stringify(options.body);
  const headers: Record<string, string> = { accept: 'application/json' };
  if (payload !== undefined) {
    headers['content-type'] = options.contentType ?? 'application/json';
    headers['content-length'] = String(Buffer.byteLength(payload));
  }
  if (access.token) headers.authorization = `Bearer ${access.token}`;
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        headers,
        ca: access.caPem,
        cert: access.certPem,
        key: access.keyPem,
        rejectUnauthorized: !access.insecureSkipTlsVerify,
        timeout: options.timeoutMs ?? 30_000,
        signal: options.signal,
        // A fresh connection each time: a pooled socket to a stopped server would only add noise.
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = text;
          if ((res.headers['content-type'] ?? '').includes('json') && text) {
            try {
              body = JSON.parse(text);
            } catch {
              body = text;
            }
          }
          resolve({ status: res.statusCode ?? 0, body: body as T });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${options.timeoutMs ?? 30_000} ms`)));
    req.on('error', (err) =>
      reject(
        new GitOpsError(
          ErrorCodes.Unreachable,
          `${method} ${url.pathname} on ${access.server} failed: ${err.message}`,
          {
            details: { server: access.server },
            cause: err,
          },
        ),
      ),
    );
    req.end(payload);
  });
}

/** Like kubeRequest, but a status outside 2xx throws with the server's own message. */
export async function kubeRequestOk<T = unknown>(
  access: ClusterAccess,
  method: string,
  path: string,
  options: KubeRequestOptions = {},
): Promise<T> {
  const res = await kubeRequest<T>(access, method, path, options);
  if (res.status >= 200 && res.status < 300) return res.body;
  const status = res.body as { message?: string; reason?: string } | string;
  const message =
    typeof status === 'string' ? status.slice(0, 500) : (status.message ?? JSON.stringify(status));
  throw new GitOpsError(codeFor(res.status), `${method} ${path} answered ${res.status}: ${message}`, {
    details: { server: access.server, status: res.status },
  });
}

function codeFor(status: number): GitOpsError['code'] {
  switch (status) {
    case 400:
      return ErrorCodes.BadRequest;
    case 401:
      return ErrorCodes.Unauthorized;
    case 403:
      return ErrorCodes.Forbidden;
    case 404:
      return ErrorCodes.NotFound;
    case 409:
      return ErrorCodes.Conflict;
    case 422:
      return ErrorCodes.Invalid;
    case 503:
      return ErrorCodes.ServiceUnavailable;
    default:
      return ErrorCodes.InternalError;
  }
}
