import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { unexpected } from './kubectl.js';

import { RestClient } from '../../src/kube/index.js';
import type { ClusterConnection, RequestRecord } from '../../src/kube/index.js';
import { GitOpsError } from '../../src/runtime/index.js';

// A real HTTP server on loopback that answers the way an API server does in the cases under test.
type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;
const servers: Server[] = [];

async function serve(handler: Handler): Promise<string> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handler(req, res, Buffer.concat(chunks).toString('utf8')));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

function connection(
  server: string,
  token = 'secret-token',
  onCredentials?: (refresh: boolean) => string,
): ClusterConnection {
  return {
    server,
    namespace: 'default',
    contextName: 'test',
    source: 'test',
    async credentials(refresh = false) {
      const value = onCredentials ? onCredentials(refresh) : token;
      return { rejectUnauthorized: true, headers: { authorization: `Bearer ${value}` } };
    },
  };
}

function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

const status = (code: number, reason: string, message: string, causes?: unknown[]) => ({
  kind: 'Status',
  apiVersion: 'v1',
  status: 'Failure',
  code,
  reason,
  message,
  ...(causes ? { details: { causes } } : {}),
});

describe('RestClient', () => {
  it('retries 429 (honouring Retry-After) and 503, then succeeds', async () => {
    let calls = 0;
    const server = await serve((_req, res) => {
      calls++;
      if (calls === 1) json(res, 429, status(429, 'TooManyRequests', 'slow down'), { 'retry-after': '0' });
      else if (calls === 2) json(res, 503, status(503, 'ServiceUnavailable', 'busy'));
      else json(res, 200, { kind: 'ConfigMap', ok: true });
    });
    const client = new RestClient(connection(server), { backoffMs: 5 });
    const res = await client.request<{ ok: boolean }>({
      method: 'GET',
      path: '/api/v1/namespaces/a/configmaps/b',
    });
    expect(res.body.ok).toBe(true);
    expect(calls).toBe(3);
    expect(client.stats()).toMatchObject({ requests: 1, reads: 1, retries: 2, failures: 0 });
  });

  it('does not retry a 500 and keeps the server message, reason and causes', async () => {
    let calls = 0;
    const server = await serve((_req, res) => {
      calls++;
      json(
        res,
        422,
        status(422, 'Invalid', 'ConfigMap "Bad" is invalid: metadata.name: Invalid value', [
          { reason: 'FieldValueInvalid', message: 'Invalid value: "Bad"', field: 'metadata.name' },
        ]),
      );
    });
    const client = new RestClient(connection(server), { backoffMs: 5 });
    const err = await client
      .request({ method: 'PATCH', path: '/x', body: {}, object: '/ConfigMap/a/Bad', verb: 'apply of' })
      .then(unexpected, (e: unknown) => e as GitOpsError);
    expect(err).toBeInstanceOf(GitOpsError);
    expect(err.code).toBe('Invalid');
    expect(err.message).toBe(
      'apply of /ConfigMap/a/Bad: ConfigMap "Bad" is invalid: metadata.name: Invalid value',
    );
    expect(err.details).toMatchObject({ object: '/ConfigMap/a/Bad', status: 422, reason: 'Invalid' });
    expect(err.causes[0]?.details.field).toBe('.metadata.name');
    const server500 = await serve((_req, res) => {
      calls++;
      json(res, 500, status(500, 'InternalError', 'failed to create typed patch object'));
    });
    calls = 0;
    const err500 = await new RestClient(connection(server500), { backoffMs: 5 })
      .request({ method: 'PATCH', path: '/x', body: {} })
      .then(unexpected, (e: unknown) => e as GitOpsError);
    expect(err500.code).toBe('InternalError');
    expect(calls).toBe(1);
  });

  it('gives a clear Unreachable error when nothing listens, after its retries', async () => {
    const server = await serve(() => undefined);
    const closed = servers.pop()!;
    await new Promise((r) => closed.close(r));
    const client = new RestClient(connection(server), { retries: 2, backoffMs: 5 });
    const err = await client
      .request({ method: 'GET', path: '/api', object: '/ConfigMap/a/b', verb: 'get of' })
      .then(unexpected, (e: unknown) => e as GitOpsError);
    expect(err.code).toBe('Unreachable');
    expect(err.message).toContain(`cannot reach the Kubernetes API server at ${server}`);
    expect(err.message).toContain('ECONNREFUSED');
    expect(err.message).toContain('after 3 attempts');
    expect(err.details.attempts).toBe(3);
    expect(err.message).not.toContain('secret-token');
  });

  it('keeps at most maxConcurrency requests in flight', async () => {
    // The server holds every answer until the client has filled its slots, so the count does
    // not depend on how fast a loaded machine serves; a short look for a fourth request follows.
    let inFlight = 0;
    let most = 0;
    let arrived = 0;
    const held: ServerResponse[] = [];
    const release = (): void => {
      const res = held.shift();
      if (res === undefined) return;
      inFlight--;
      json(res, 200, {});
    };
    const server = await serve((_req, res) => {
      inFlight++;
      arrived++;
      most = Math.max(most, inFlight);
      held.push(res);
      if (arrived === 12) setTimeout(() => held.slice().forEach(release), 20);
      else if (inFlight === 3) setTimeout(release, 20);
    });
    const client = new RestClient(connection(server), { maxConcurrency: 3, qps: 0 });
    await Promise.all(Array.from({ length: 12 }, () => client.request({ method: 'GET', path: '/api' })));
    expect(arrived).toBe(12);
    expect(most).toBe(3);
  });

  it('sends every request through its throttle, configured from its options', async () => {
    // The spacing itself is checked with fake timers in throttle.test.ts.
    const inFlightAtServer: number[] = [];
    const made: RestClient[] = [];
    const server = await serve((_req, res) => {
      inFlightAtServer.push(made[0]?.throttle.inFlight ?? -1);
      json(res, 200, {});
    });
    const client = new RestClient(connection(server), { qps: 20, burst: 1, maxConcurrency: 2 });
    made.push(client);
    expect([client.throttle.qps, client.throttle.burst, client.throttle.maxConcurrency]).toEqual([20, 1, 2]);
    await client.request({ method: 'GET', path: '/api' });
    await client.request({ method: 'GET', path: '/api' });
    expect(inFlightAtServer).toEqual([1, 1]);
    expect(client.throttle.inFlight).toBe(0);
  });

  it('counts writes, dry-runs and reads, and tells listeners', async () => {
    const server = await serve((_req, res) => json(res, 200, {}));
    const client = new RestClient(connection(server));
    const records: RequestRecord[] = [];
    client.onRequest((r) => records.push(r));
    await client.request({ method: 'PATCH', path: '/a', body: {}, query: { dryRun: 'All' } });
    await client.request({ method: 'PATCH', path: '/a', body: {} });
    await client.request({ method: 'DELETE', path: '/a' });
    await client.request({ method: 'GET', path: '/a' });
    expect(client.stats()).toMatchObject({ requests: 4, writes: 2, dryRuns: 1, reads: 1 });
    expect(records.map((r) => [r.method, r.write, r.dryRun])).toEqual([
      ['PATCH', false, true],
      ['PATCH', true, false],
      ['DELETE', true, false],
      ['GET', false, false],
    ]);
  });

  it('asks for new credentials once after a 401 (an expired token)', async () => {
    const server = await serve((req, res) => {
      if (req.headers.authorization === 'Bearer fresh') json(res, 200, { ok: true });
      else json(res, 401, status(401, 'Unauthorized', 'Unauthorized'));
    });
    const asked: boolean[] = [];
    const client = new RestClient(
      connection(server, '', (refresh) => {
        asked.push(refresh);
        return refresh || asked.includes(true) ? 'fresh' : 'stale';
      }),
    );
    const res = await client.request<{ ok: boolean }>({ method: 'GET', path: '/api' });
    expect(res.body.ok).toBe(true);
    expect(asked).toContain(true);
  });

  it('sends the body, content type, query and credentials it is given', async () => {
    let seen: { url?: string; type?: string; auth?: string; body?: string } = {};
    const server = await serve((req, res, body) => {
      seen = { url: req.url, type: req.headers['content-type'], auth: req.headers.authorization, body };
      json(res, 201, {});
    });
    const client = new RestClient(connection(server));
    const res = await client.request({
      method: 'PATCH',
      path: '/api/v1/namespaces/a/configmaps/b',
      query: { fieldManager: 'libgitops', force: true, dryRun: undefined },
      body: '{"a":1}',
      contentType: 'application/apply-patch+yaml',
    });
    expect(res.status).toBe(201);
    expect(seen).toEqual({
      url: '/api/v1/namespaces/a/configmaps/b?fieldManager=libgitops&force=true',
      type: 'application/apply-patch+yaml',
      auth: 'Bearer secret-token',
      body: '{"a":1}',
    });
  });
});
