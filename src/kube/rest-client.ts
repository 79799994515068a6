/**
 * Our own REST client for the Kubernetes API: raw JSON in and out (nothing dropped by a typed
 * serializer), kept-alive TLS connections, bounded concurrency and client-side rate limiting,
 * retries with backoff on 429, 5xx and network errors, and a count of every request so callers
 * and tests can see exactly what was sent.
 */
import { Agent, request as httpsRequest } from 'node:https';
import type { AgentOptions } from 'node:https';
import { request as httpRequest } from 'node:http';
import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import { createSecureContext } from 'node:tls';

import {
  ErrorCodes,
  GitOpsError,
  abortedError,
  backoffDelay,
  parseJsonExact,
  sleep,
  stringifyJson,
  systemError,
} from '../runtime/index.js';
import type { ClusterConnection, RequestCredentials } from './kubeconfig.js';
import { statusError } from './status-error.js';
import { Throttle } from './throttle.js';
import type { ThrottleOptions } from './throttle.js';

export interface RestClientOptions extends ThrottleOptions {
  /** Attempts after the first for 429, 5xx and network errors; default 5. */
  retries?: number;
  /** First backoff; doubled each attempt with jitter, capped at 5 s. Default 100 ms. */
  backoffMs?: number;
  /** Per-request timeout (not for watches); default 30 s. */
  timeoutMs?: number;
  userAgent?: string;
  /**
   * Every request is made as this identity (Impersonate-User / Impersonate-Group headers), so
   * the API server's RBAC for it decides; the connection's own credentials need the
   * `impersonate` verb. See `serviceAccountIdentity`.
   */
  impersonate?: Impersonation;
}

/** Who requests are made as: a user name and its groups. */
export interface Impersonation {
  user: string;
  groups?: readonly string[];
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
// Header values: printable ASCII only, so no user text can end a header or start another.
const HEADER_SAFE = /^[\x21-\x7e]+$/;

/**
 * The identity Kubernetes gives a service account's token: user
 * `system:serviceaccount:<namespace>:<name>` in groups `system:serviceaccounts` and
 * `system:serviceaccounts:<namespace>`. The namespace must be a DNS label and the name a DNS
 * subdomain (as the API server requires of them), else a typed Invalid error.
 */
export function serviceAccountIdentity(namespace: string, name: string): Impersonation {
  if (namespace.length > 63 || !DNS_LABEL.test(namespace)) {
    throw new GitOpsError(
      ErrorCodes.Invalid,
      `service account namespace ${JSON.stringify(namespace)} is not a DNS label (lowercase letters, digits and "-", at most 63)`,
      { details: { field: 'namespace' } },
    );
  }
  if (name.length > 253 || !DNS_SUBDOMAIN.test(name)) {
    throw new GitOpsError(
      ErrorCodes.Invalid,
      `service account name ${JSON.stringify(name)} is not a DNS subdomain (lowercase letters, digits, "-" and ".", at most 253)`,
      { details: { field: 'serviceAccountName' } },
    );
  }
  return {
    user: `system:serviceaccount:${namespace}:${name}`,
    groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`],
  };
}

function impersonationHeaders(identity: Impersonation | undefined): OutgoingHttpHeaders {
  if (identity === undefined) return {};
  for (const value of [identity.user, ...(identity.groups ?? [])]) {
    if (value.length > 512 || !HEADER_SAFE.test(value)) {
      throw new GitOpsError(
        ErrorCodes.Invalid,
        `impersonated identity ${JSON.stringify(value.slice(0, 80))} is not a valid user or group name`,
        { details: { field: 'impersonate' } },
      );
    }
  }
  return {
    'impersonate-user': identity.user,
    ...(identity.groups === undefined || identity.groups.length === 0
      ? {}
      : { 'impersonate-group': [...identity.groups] }),
  };
}

export type QueryValue = string | number | boolean | undefined;

export interface RestRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Absolute API path, e.g. `/api/v1/namespaces/default/configmaps/x`; built with encoded parts. */
  path: string;
  query?: Record<string, QueryValue>;
  /** A JSON value (sent as JSON) or a ready string. */
  body?: unknown;
  contentType?: string;
  accept?: string;
  /** For errors: the ObjectKey string of the object this is about, and what we were doing. */
  object?: string;
  verb?: string;
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Retry idempotent failures (default true); a POST that may have landed is not retried. */
  retry?: boolean;
}

export interface RestResponse<T = unknown> {
  status: number;
  body: T;
  headers: IncomingMessage['headers'];
}

/** What a listener learns of each request once it is answered (or has failed). */
export interface RequestRecord {
  method: string;
  path: string;
  /** True for POST/PUT/PATCH/DELETE that are not a dry-run. */
  write: boolean;
  dryRun: boolean;
  status: number;
  attempts: number;
  durationMs: number;
  object?: string;
}

export interface RequestStats {
  requests: number;
  writes: number;
  dryRuns: number;
  reads: number;
  retries: number;
  failures: number;
}

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
// A 500 is retried only when the server asks for it (Retry-After): most are deterministic, e.g.
// an apply patch that does not fit the schema, and would fail the same way five more times.
const RETRY_STATUSES = new Set([429, 502, 503, 504]);
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ENOTFOUND',
  'UND_ERR_SOCKET',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

export class RestClient {
  readonly connection: ClusterConnection;
  readonly throttle: Throttle;
  readonly retries: number;
  readonly backoffMs: number;
  readonly timeoutMs: number;
  readonly userAgent: string;
  /** Who requests are made as (undefined: the connection's own identity). */
  readonly impersonate: Impersonation | undefined;
  readonly #impersonationHeaders: OutgoingHttpHeaders;
  readonly #listeners = new Set<(record: RequestRecord) => void>();
  readonly #stats: RequestStats = { requests: 0, writes: 0, dryRuns: 0, reads: 0, retries: 0, failures: 0 };
  #agent: { credentials: RequestCredentials; key: string; agent: Agent } | undefined;
  readonly #server: URL;

  constructor(connection: ClusterConnection, options: RestClientOptions = {}) {
    this.connection = connection;
    this.throttle = new Throttle(options);
    this.retries = options.retries ?? 5;
    this.backoffMs = options.backoffMs ?? 100;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.userAgent = options.userAgent ?? 'libgitops';
    this.#impersonationHeaders = impersonationHeaders(options.impersonate);
    this.impersonate = options.impersonate;
    this.#server = new URL(connection.server);
  }

  get server(): string {
    return this.connection.server;
  }

  /** A copy of the counters since creation (or the last reset). */
  stats(): RequestStats {
    return { ...this.#stats };
  }

  resetStats(): void {
    for (const key of Object.keys(this.#stats) as Array<keyof RequestStats>) this.#stats[key] = 0;
  }

  /** Calls `listener` after every request; returns a function that removes it. */
  onRequest(listener: (record: RequestRecord) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Closes kept-alive connections (the client stays usable). */
  close(): void {
    this.#agent?.agent.destroy();
    this.#agent = undefined;
  }

  /** One request, retried as configured; a non-2xx answer throws a typed error. */
  async request<T = unknown>(req: RestRequest): Promise<RestResponse<T>> {
    const dryRun = req.query?.dryRun !== undefined;
    const write = WRITE_METHODS.has(req.method) && !dryRun;
    const payload =
      req.body === undefined ? undefined : typeof req.body === 'string' ? req.body : stringifyJson(req.body);
    const started = Date.now();
    const maxAttempts = req.retry === false ? 1 : this.retries + 1;
    let attempt = 0;
    let refreshed = false;
    for (;;) {
      attempt++;
      let status = 0;
      try {
        const res = await this.throttle.run(() => this.#send(req, payload), req.signal);
        status = res.status;
        if (status === 401 && !refreshed) {
          // Tokens expire (exec plugins, projected service account tokens): ask once more.
          refreshed = true;
          await this.connection.credentials(true);
          attempt--;
          continue;
        }
        if (status >= 200 && status < 300) {
          this.#record(req, write, dryRun, status, attempt, started);
          return res as RestResponse<T>;
        }
        const error = statusError(status, res.body, this.#context(req));
        if (retryable(status, res.headers) && attempt < maxAttempts && this.#mayRetry(req, status)) {
          this.#stats.retries++;
          await sleep(this.#delay(attempt, res.headers['retry-after']), req.signal);
          continue;
        }
        this.#record(req, write, dryRun, status, attempt, started, true);
        throw error;
      } catch (err) {
        if (err instanceof GitOpsError) {
          if (status !== 0) throw err;
          if (err.code === ErrorCodes.Aborted || err.code === ErrorCodes.AuthFailed) {
            this.#record(req, write, dryRun, 0, attempt, started, true);
            throw err;
          }
        }
        const network = networkError(err);
        if (network && attempt < maxAttempts && this.#mayRetry(req, 0)) {
          this.#stats.retries++;
          await sleep(this.#delay(attempt), req.signal);
          continue;
        }
        this.#record(req, write, dryRun, 0, attempt, started, true);
        if (err instanceof GitOpsError) throw err;
        const reason = err instanceof Error ? err.message : String(err);
        throw new GitOpsError(
          ErrorCodes.Unreachable,
          `cannot reach the Kubernetes API server at ${this.server} (${reason})` +
            (attempt > 1 ? ` after ${attempt} attempts` : '') +
            (req.object ? `; ${req.verb ?? req.method} ${req.object} was not done` : ''),
          {
            details: { server: this.server, path: req.path, object: req.object, attempts: attempt },
            cause: err,
          },
        );
      }
    }
  }

  /**
   * A streaming GET (watch): resolves with the open response once the server answered 200;
   * the caller reads it and destroys it when done.
   */
  async stream(req: Omit<RestRequest, 'method' | 'body'>): Promise<IncomingMessage> {
    const started = Date.now();
    let attempt = 0;
    for (;;) {
      attempt++;
      try {
        const res = await this.throttle.run(
          () => this.#open({ ...req, method: 'GET' }, undefined),
          req.signal,
        );
        if (res.statusCode === 200) {
          this.#record({ ...req, method: 'GET' }, false, false, 200, attempt, started);
          return res;
        }
        const body = await readBody(res);
        if (retryable(res.statusCode ?? 0, res.headers) && attempt <= this.retries) {
          this.#stats.retries++;
          await sleep(this.#delay(attempt, res.headers['retry-after']), req.signal);
          continue;
        }
        this.#record({ ...req, method: 'GET' }, false, false, res.statusCode ?? 0, attempt, started, true);
        throw statusError(res.statusCode ?? 0, body, this.#context({ ...req, method: 'GET' }));
      } catch (err) {
        if (err instanceof GitOpsError) throw err;
        if (networkError(err) && attempt <= this.retries) {
          this.#stats.retries++;
          await sleep(this.#delay(attempt), req.signal);
          continue;
        }
        throw new GitOpsError(
          ErrorCodes.Unreachable,
          `cannot reach the Kubernetes API server at ${this.server} (${err instanceof Error ? err.message : String(err)})`,
          { details: { server: this.server, path: req.path }, cause: err },
        );
      }
    }
  }

  #mayRetry(req: RestRequest, status: number): boolean {
    // A create may have landed before the connection broke; retrying it would report AlreadyExists.
    return req.method !== 'POST' || status === 429;
  }

  #delay(attempt: number, retryAfter?: string | string[]): number {
    const header = Array.isArray(retryAfter) ? retryAfter[0] : retryAfter;
    const seconds = header === undefined ? NaN : Number(header);
    if (Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds, 10) * 1000;
    return backoffDelay(attempt - 1, { initialMs: this.backoffMs, maxMs: 5_000, jitter: 'equal' });
  }

  #context(req: RestRequest) {
    return { method: req.method, path: req.path, server: this.server, object: req.object, verb: req.verb };
  }

  #record(
    req: RestRequest,
    write: boolean,
    dryRun: boolean,
    status: number,
    attempts: number,
    started: number,
    failed = false,
  ): void {
    this.#stats.requests++;
    if (write) this.#stats.writes++;
    else if (dryRun) this.#stats.dryRuns++;
    else this.#stats.reads++;
    if (failed) this.#stats.failures++;
    if (this.#listeners.size === 0) return;
    const record: RequestRecord = {
      method: req.method,
      path: req.path,
      write,
      dryRun,
      status,
      attempts,
      durationMs: Date.now() - started,
      object: req.object,
    };
    for (const listener of this.#listeners) listener(record);
  }

  async #send(req: RestRequest, payload: string | undefined): Promise<RestResponse> {
    const res = await this.#open(req, payload);
    const text = await readBody(res);
    let body: unknown = text;
    if (text !== '' && (res.headers['content-type'] ?? '').includes('json')) {
      try {
        body = parseJsonExact(text);
      } catch {
        body = text;
      }
    }
    return { status: res.statusCode ?? 0, body, headers: res.headers };
  }

  async #open(req: RestRequest, payload: string | undefined): Promise<IncomingMessage> {
    const credentials = await this.connection.credentials();
    const url = new URL(this.#server.href);
    url.pathname = `${this.#server.pathname.replace(/\/+$/, '')}${req.path}`;
    for (const [name, value] of Object.entries(req.query ?? {})) {
      if (value !== undefined) url.searchParams.set(name, String(value));
    }
    const headers: OutgoingHttpHeaders = {
      ...credentials.headers,
      ...this.#impersonationHeaders,
      accept: req.accept ?? 'application/json',
      'user-agent': this.userAgent,
    };
    if (payload !== undefined) {
      headers['content-type'] = req.contentType ?? 'application/json';
      headers['content-length'] = Buffer.byteLength(payload);
    }
    const https = url.protocol === 'https:';
    const agent = credentials.proxyAgent ?? (https ? this.#agentFor(credentials) : undefined);
    const timeoutMs = req.timeoutMs ?? this.timeoutMs;
    return new Promise<IncomingMessage>((resolve, reject) => {
      if (req.signal?.aborted) {
        reject(abortedError(req.signal));
        return;
      }
      const call = https ? httpsRequest : httpRequest;
      const outgoing = call(url, { method: req.method, headers, agent }, (res) => {
        outgoing.setTimeout(0);
        resolve(res);
      });
      // Our own abort handling: the listener goes away with the request, so a later abort of a
      // long-lived signal cannot hit a finished request with an error nobody listens to.
      const signal = req.signal;
      if (signal !== undefined) {
        const onAbort = (): void => {
          outgoing.destroy();
        };
        signal.addEventListener('abort', onAbort, { once: true });
        outgoing.on('close', () => {
          signal.removeEventListener('abort', onAbort);
          // Settles a request aborted before its answer came (a no-op once it resolved).
          if (signal.aborted) reject(abortedError(signal));
        });
      }
      if (timeoutMs > 0) {
        outgoing.setTimeout(timeoutMs, () =>
          outgoing.destroy(systemError(`no answer within ${timeoutMs} ms`, 'ETIMEDOUT')),
        );
      }
      outgoing.on('error', (err) => reject(req.signal?.aborted ? abortedError(req.signal) : err));
      outgoing.end(payload);
    });
  }

  #agentFor(credentials: RequestCredentials): Agent {
    // The connection hands out the same credentials until they are refreshed: no key to build.
    if (this.#agent?.credentials === credentials) return this.#agent.agent;
    // One kept-alive agent per set of TLS material; an exec plugin may hand out new certificates.
    const key = [credentials.ca, credentials.cert, credentials.key, credentials.pfx, credentials.servername]
      .map((part) => (part === undefined ? '' : part.toString()))
      .concat(String(credentials.rejectUnauthorized))
      .join('\0');
    if (this.#agent?.key !== key) {
      this.#agent?.agent.destroy();
      this.#agent = {
        credentials,
        key,
        agent: new Agent({
          keepAlive: true,
          maxSockets: this.throttle.maxConcurrency + 8,
          ...tlsOptions(credentials),
        }),
      };
    } else {
      this.#agent.credentials = credentials;
    }
    return this.#agent.agent;
  }
}

/**
 * The agent's TLS settings: the material made into one secure context, so that Node neither
 * reads it again for each connection nor writes it into the pool name it computes for every
 * request (kilobytes of PEM text per request, in a sync of 10,000 objects). Material that makes
 * no context is passed as it is, to fail each request with Node's own error, as before.
 */
function tlsOptions(credentials: RequestCredentials): AgentOptions {
  const material = {
    ca: credentials.ca,
    cert: credentials.cert,
    key: credentials.key,
    pfx: credentials.pfx,
    passphrase: credentials.passphrase,
  };
  const connection = {
    servername: credentials.servername,
    rejectUnauthorized: credentials.rejectUnauthorized,
  };
  try {
    return { secureContext: createSecureContext(material), ...connection };
  } catch {
    return { ...material, ...connection };
  }
}

/**
 * The answer's text, decoded as it arrives (a character split between two chunks is joined by the
 * stream's decoder): no second copy of a list page in one joined buffer before it becomes text.
 */
function readBody(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: string[] = [];
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => parts.push(chunk));
    res.on('error', reject);
    res.on('aborted', () => reject(systemError('the answer was cut off', 'ECONNRESET')));
    res.on('end', () => resolve(parts.join('')));
  });
}

function retryable(status: number, headers: IncomingMessage['headers']): boolean {
  return RETRY_STATUSES.has(status) || (status >= 500 && headers['retry-after'] !== undefined);
}

function networkError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as NodeJS.ErrnoException).code;
  if (code !== undefined && NETWORK_CODES.has(code)) return true;
  return /socket hang up|ECONNRESET|other side closed/i.test(err.message);
}

/** Encodes one path segment; refuses what would change the path's meaning (`.`, `..`, `/`). */
export function pathSegment(value: string, what: string): string {
  if (value === '' || value === '.' || value === '..' || value.includes('/') || value.includes('%')) {
    throw new GitOpsError(
      ErrorCodes.Invalid,
      `${what} ${JSON.stringify(value)} is not a valid name (it must not be empty, "." or "..", or hold "/" or "%")`,
      { details: { field: what === 'namespace' ? '.metadata.namespace' : '.metadata.name', value } },
    );
  }
  return encodeURIComponent(value);
}
