/**
 * What the three sample servers share: a Fastify server on 127.0.0.1:8888 that logs JSON lines
 * (pino), answers `GET /` with "Welcome!" as the Go samples do, turns GitOpsErrors into HTTP
 * statuses with their code and message, and shuts down cleanly on SIGINT and SIGTERM.
 */
import Fastify, { LogController } from 'fastify';
import type { FastifyInstance } from 'fastify';

import { ErrorCodes, isGitOpsError, parseJsonExact, stringifyJson } from '../../src/runtime/index.js';
import type { ErrorCode } from '../../src/runtime/index.js';

const STATUS: Partial<Record<ErrorCode, number>> = {
  [ErrorCodes.NotFound]: 404,
  [ErrorCodes.AlreadyExists]: 409,
  [ErrorCodes.Conflict]: 409,
  [ErrorCodes.PushRejected]: 409,
  [ErrorCodes.Invalid]: 422,
  [ErrorCodes.BadRequest]: 400,
  [ErrorCodes.InvalidName]: 400,
  [ErrorCodes.PathEscape]: 400,
  [ErrorCodes.Unauthorized]: 401,
  [ErrorCodes.AuthFailed]: 502,
  [ErrorCodes.Forbidden]: 403,
  [ErrorCodes.MethodNotAllowed]: 405,
  [ErrorCodes.Unreachable]: 503,
  [ErrorCodes.ServiceUnavailable]: 503,
  [ErrorCodes.Timeout]: 504,
};

export function createSampleServer(): FastifyInstance {
  const app = Fastify({
    logger: { level: process.env.LOG_LEVEL ?? 'info' },
    logController: new LogController({ disableRequestLogging: true }),
  });
  // Objects may hold integers beyond 2^53 (as bigints): read and write JSON exactly.
  app.setReplySerializer((payload) => stringifyJson(payload));
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, body === '' ? {} : parseJsonExact(body as string));
    } catch (err) {
      (err as { statusCode?: number }).statusCode = 400;
      done(err as Error, undefined);
    }
  });
  app.setErrorHandler((error: unknown, request, reply) => {
    if (isGitOpsError(error)) {
      const status = STATUS[error.code] ?? 500;
      if (status >= 500) request.log.error({ code: error.code, details: error.details }, error.message);
      return reply.status(status).send({ code: error.code, message: error.message, details: error.details });
    }
    request.log.error({ err: error }, 'request failed');
    const { statusCode, message } = error as { statusCode?: unknown; message?: unknown };
    const status = typeof statusCode === 'number' ? statusCode : 500;
    return reply.status(status).send({
      code: status < 500 ? ErrorCodes.BadRequest : ErrorCodes.InternalError,
      message: String(message),
    });
  });
  app.get('/', async () => 'Welcome!');
  return app;
}

/** Listens, logs the address (`listening` with `url`), and closes `resources` on SIGINT/SIGTERM. */
export async function serve(
  app: FastifyInstance,
  options: { host: string; port: number },
  resources: Array<{ close(): Promise<void> }>,
): Promise<string> {
  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, 'stopping');
    await app.close();
    for (const resource of resources) await resource.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
  const url = await app.listen({ host: options.host, port: options.port });
  app.log.info({ url }, 'listening');
  return url;
}
