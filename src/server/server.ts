/**
 * The operator's HTTP face: probes, metrics, the push webhook and a JSON API over applications.
 * The API needs a bearer token unless explicitly disabled; the webhook needs a valid signature
 * instead (forges cannot send our token). Errors answer with the catalogue's code, never a stack.
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import { createServer as createHttpServer } from 'node:http';

import Fastify from 'fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

import { webhookErrorStatus } from '../forge/index.js';
import { ErrorCodes, GitOpsError, parseJsonExact, stringifyJson, toGitOpsError } from '../runtime/index.js';
import { DeliveryMemory, handlePushWebhook } from '../operator/index.js';
import type { ApplicationView, Operator } from '../operator/index.js';
import { operatorMetrics } from './metrics.js';
import type { OperatorMetrics } from './metrics.js';

export interface ServerOptions {
  operator: Operator;
  /** Bearer token for /api; required unless `insecureNoAuth` is set. */
  apiToken?: string;
  /** Serve /api without a token (say so explicitly; for local use only). */
  insecureNoAuth?: boolean;
  /** Secret(s) of the push webhook; without one /webhook answers 404. */
  webhookSecret?: string | readonly string[];
  /** /readyz also asks this (e.g. "is this replica the leader, or a ready standby"). */
  ready?: () => boolean;
  /** A pino logger or `false`; default false (the CLI passes its own). */
  logger?: boolean | object;
  processMetrics?: boolean;
  /** Limits against hostile or broken clients; see ServerLimits for the defaults. */
  limits?: ServerLimits;
  /**
   * Serve /metrics (with /healthz and /readyz) on a server of its own (`listenMetrics`), not on
   * the public one with the webhook and the API: scraping stays inside the cluster's network
   * while the webhook may be exposed.
   */
  separateMetrics?: boolean;
}

/** What one client may cost the server. Every field has a default. */
export interface ServerLimits {
  /** Largest request body; a larger one gets 413. Default 5 MiB. */
  bodyBytes?: number;
  /** Time to receive a whole request (headers and body); then 408 and the connection closes. Default 30 s. */
  requestTimeoutMs?: number;
  /** Time to receive the headers. Default 10 s (never more than requestTimeoutMs). */
  headersTimeoutMs?: number;
  /** A connection with no traffic for this long is closed. Default 60 s. */
  idleTimeoutMs?: number;
  /** How long a kept-alive connection waits for its next request. Default 5 s. */
  keepAliveTimeoutMs?: number;
  /** Connections open at once; more are closed as they arrive. Default 512. */
  maxConnections?: number;
  /** How long a webhook delivery id is remembered to refuse a replay (409). Default 1 h. */
  deliveryMemoryMs?: number;
}

export const DEFAULT_SERVER_LIMITS: Readonly<Required<ServerLimits>> = Object.freeze({
  bodyBytes: 5 * 1024 * 1024,
  requestTimeoutMs: 30_000,
  headersTimeoutMs: 10_000,
  idleTimeoutMs: 60_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 512,
  deliveryMemoryMs: 60 * 60 * 1000,
});

export interface OperatorServer {
  app: FastifyInstance;
  metrics: OperatorMetrics;
  /** Starts listening; resolves with the URL (port 0 picks a free one). */
  listen(options?: { host?: string; port?: number }): Promise<string>;
  /** With `separateMetrics`: starts the metrics server; resolves with its URL. */
  listenMetrics(options?: { host?: string; port?: number }): Promise<string>;
  close(): Promise<void>;
}

export function createServer(options: ServerOptions): OperatorServer {
  if (options.apiToken === undefined && options.insecureNoAuth !== true) {
    throw new GitOpsError(
      ErrorCodes.Invalid,
      'the API needs a bearer token: set apiToken (e.g. from GITOPS_API_TOKEN) or insecureNoAuth explicitly',
      { details: { field: 'apiToken' } },
    );
  }
  const { operator } = options;
  const metrics = operatorMetrics(operator, { processMetrics: options.processMetrics });
  const limits = { ...DEFAULT_SERVER_LIMITS, ...options.limits };
  const headersTimeoutMs = Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs);
  const deliveries = new DeliveryMemory(limits.deliveryMemoryMs);
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: limits.bodyBytes,
    // Our own node server: its request and header timeouts are checked often enough to matter.
    serverFactory: (handler) => {
      const http = createHttpServer(
        {
          requestTimeout: limits.requestTimeoutMs,
          headersTimeout: headersTimeoutMs,
          keepAliveTimeout: limits.keepAliveTimeoutMs,
          connectionsCheckingInterval: Math.max(10, Math.min(1_000, Math.floor(headersTimeoutMs / 4))),
        },
        handler,
      );
      http.maxConnections = limits.maxConnections;
      http.setTimeout(limits.idleTimeoutMs, (socket) => socket.destroy());
      return http;
    },
  });

  // Signatures are over the exact bytes, so the webhook route keeps the raw body.
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    if (request.url.startsWith('/webhook')) {
      done(null, body);
      return;
    }
    try {
      done(null, body.length === 0 ? {} : parseJsonExact(body.toString('utf8')));
    } catch (cause) {
      done(new GitOpsError(ErrorCodes.BadRequest, 'the body is not JSON', { cause }) as Error, undefined);
    }
  });
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'buffer' }, (_r, body, done) =>
    done(null, body),
  );

  // Integers beyond 2^53 are bigints in our objects; JSON.stringify would throw on them.
  app.setReplySerializer((payload) => stringifyJson(payload));

  app.setErrorHandler((error, _request, reply) => {
    const problem = fromHttpError(error) ?? toGitOpsError(error);
    void reply.status(statusOf(problem)).send({ error: problem.toJSON() });
  });

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unknown';
    if (route.startsWith('/api')) {
      metrics.apiRequests.inc({ method: request.method, route, status: String(reply.statusCode) });
    }
  });

  const metricsApp = options.separateMetrics === true ? Fastify({ logger: false }) : undefined;
  for (const target of metricsApp === undefined ? [app] : [app, metricsApp]) {
    target.get('/healthz', async () => ({ status: 'ok' }));
    target.get('/readyz', async (_request, reply) => {
      const ready = operator.ready && (options.ready?.() ?? true);
      return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready' });
    });
  }
  (metricsApp ?? app).get('/metrics', async (_request, reply) => {
    return reply.header('content-type', metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  app.post('/webhook', async (request, reply) => {
    if (options.webhookSecret === undefined) {
      metrics.webhookRequests.inc({ status: '404' });
      return reply
        .status(404)
        .send({ error: { code: ErrorCodes.NotFound, message: 'no webhook secret is configured' } });
    }
    try {
      const rawBody = Buffer.isBuffer(request.body)
        ? request.body
        : Buffer.from(JSON.stringify(request.body ?? {}));
      const { outcome, fetched } = await handlePushWebhook(
        operator,
        { headers: request.headers, rawBody },
        { secret: options.webhookSecret, deliveries },
      );
      metrics.webhookRequests.inc({ status: String(outcome.status) });
      return reply.status(outcome.status).send({
        accepted: outcome.accepted,
        fetched,
        ...(outcome.accepted ? {} : { reason: outcome.reason }),
      });
    } catch (error) {
      const status = webhookErrorStatus(error);
      metrics.webhookRequests.inc({ status: String(status) });
      return reply.status(status).send({ error: toGitOpsError(error).toJSON() });
    }
  });

  app.register(
    async (api) => {
      api.addHook('onRequest', async (request, reply) => authorize(request, reply, options));
      api.get('/applications', async () => ({ items: operator.list().map(view) }));
      api.get<{ Params: { namespace: string; name: string } }>(
        '/applications/:namespace/:name',
        async (request) => view(found(operator, request.params)),
      );
      api.get<{ Params: { namespace: string; name: string } }>(
        '/applications/:namespace/:name/status',
        async (request) => found(operator, request.params).status,
      );
      api.get<{ Params: { namespace: string; name: string } }>(
        '/applications/:namespace/:name/diff',
        async (request, reply) => {
          found(operator, request.params);
          const diff = await operator.diff(`${request.params.namespace}/${request.params.name}`);
          return reply.header('content-type', 'text/plain; charset=utf-8').send(diff);
        },
      );
      api.post<{ Params: { namespace: string; name: string } }>(
        '/applications/:namespace/:name/sync',
        async (request, reply) => {
          const key = `${found(operator, request.params).key}`;
          const status = await operator.trigger(key, 'manual');
          return reply.status(status.phase === 'Failed' ? 502 : 200).send(status);
        },
      );
    },
    { prefix: '/api/v1' },
  );

  return {
    app,
    metrics,
    async listen(listen = {}) {
      return app.listen({ host: listen.host ?? '127.0.0.1', port: listen.port ?? 0 });
    },
    async listenMetrics(listen = {}) {
      if (metricsApp === undefined) {
        throw new GitOpsError(
          ErrorCodes.Invalid,
          'metrics are served on the main server (separateMetrics is off)',
          {
            details: { field: 'separateMetrics' },
          },
        );
      }
      return metricsApp.listen({ host: listen.host ?? '127.0.0.1', port: listen.port ?? 0 });
    },
    async close() {
      metrics.close();
      await Promise.all([app.close(), metricsApp?.close()]);
    },
  };
}

async function authorize(
  request: FastifyRequest,
  reply: FastifyReply,
  options: ServerOptions,
): Promise<void> {
  if (options.insecureNoAuth === true && options.apiToken === undefined) return;
  const header = request.headers.authorization ?? '';
  const given = header.startsWith('Bearer ') ? header.slice('Bearer '.length) : '';
  if (given === '' || !sameSecret(given, options.apiToken ?? '')) {
    await reply
      .status(401)
      .header('www-authenticate', 'Bearer')
      .send({ error: { code: ErrorCodes.Unauthorized, message: 'a valid bearer token is required' } });
  }
}

// Hashing first gives equal lengths, so the comparison time says nothing about the token.
function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

function found(operator: Operator, params: { namespace: string; name: string }): ApplicationView {
  const key = `${params.namespace}/${params.name}`;
  const app = operator.get(key);
  if (app === undefined) {
    throw new GitOpsError(ErrorCodes.NotFound, `application ${key} is not known to this operator`, {
      details: { object: key },
    });
  }
  return app;
}

function view(v: ApplicationView): Record<string, unknown> {
  return {
    name: v.app.metadata.name,
    namespace: v.app.metadata.namespace,
    spec: v.app.spec,
    status: v.status,
    syncing: v.busy,
  };
}

const STATUS: Partial<Record<string, number>> = {
  NotFound: 404,
  BadRequest: 400,
  Invalid: 422,
  Unauthorized: 401,
  Forbidden: 403,
  Conflict: 409,
  Timeout: 504,
  Unreachable: 502,
  RequestEntityTooLarge: 413,
  UnsupportedMediaType: 415,
};

/**
 * Fastify's own refusals (body too large, no or unknown content type, bad JSON) carry a 4xx
 * statusCode: they keep it, under the catalogue's code, instead of becoming a 500.
 */
function fromHttpError(error: unknown): GitOpsError | undefined {
  if (error instanceof GitOpsError) return undefined;
  const status = (error as { statusCode?: unknown }).statusCode;
  if (typeof status !== 'number' || status < 400 || status >= 500) return undefined;
  const code =
    status === 413
      ? ErrorCodes.RequestEntityTooLarge
      : status === 415
        ? ErrorCodes.UnsupportedMediaType
        : ErrorCodes.BadRequest;
  const message =
    status === 413
      ? 'the request body is larger than this server accepts'
      : status === 415
        ? 'the request has no content type or one this server does not accept (application/json, application/x-www-form-urlencoded)'
        : 'the request is malformed';
  return new GitOpsError(code, message, { details: { status } });
}

function statusOf(error: GitOpsError): number {
  const fromDetails = error.details.status;
  if (typeof fromDetails === 'number') return fromDetails;
  return STATUS[error.code] ?? 500;
}
