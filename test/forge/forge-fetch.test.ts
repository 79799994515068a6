import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RetryEvent } from '../../src/forge/index.js';
import { createForgeFetch } from '../../src/forge/index.js';
import { backoffDelayMs, serverRequestedDelayMs } from '../../src/forge/retry-policy.js';
import { ErrorCodes, GitOpsError } from '../../src/runtime/index.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

let server: Server;
let url = '';
let handlers: Handler[] = [];
let hits = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    hits++;
    req.resume();
    const handler = handlers.shift();
    if (handler === undefined) res.writeHead(500).end('no handler left');
    else handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  handlers = [];
  hits = 0;
});

const answer =
  (status: number, headers: Record<string, string> = {}): Handler =>
  (_req, res) =>
    res.writeHead(status, headers).end(`{"status":${status}}`);

describe('retry policy', () => {
  it('reads Retry-After as seconds or as a date, and rate-limit resets of GitHub and GitLab', () => {
    const now = Date.parse('2026-11-22T10:00:00Z');
    expect(serverRequestedDelayMs(new Headers({ 'retry-after': '7' }), now)).toBe(7000);
    expect(serverRequestedDelayMs(new Headers({ 'retry-after': 'Sun, 22 Nov 2026 10:00:30 GMT' }), now)).toBe(
      30_000,
    );
    const reset = String(now / 1000 + 12);
    expect(
      serverRequestedDelayMs(new Headers({ 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': reset }), now),
    ).toBe(12_000);
    expect(
      serverRequestedDelayMs(new Headers({ 'ratelimit-remaining': '0', 'ratelimit-reset': reset }), now),
    ).toBe(12_000);
    expect(
      serverRequestedDelayMs(new Headers({ 'x-ratelimit-remaining': '10', 'x-ratelimit-reset': reset }), now),
    ).toBeUndefined();
    expect(serverRequestedDelayMs(new Headers(), now)).toBeUndefined();
  });

  it('backs off exponentially within [ceiling/2, ceiling], capped', () => {
    const at = (attempt: number, random: number) =>
      backoffDelayMs(attempt, { minDelayMs: 100, maxDelayMs: 1000, random: () => random });
    expect([at(0, 0), at(0, 0.999)]).toEqual([50, 100]);
    expect([at(2, 0), at(2, 0.999)]).toEqual([200, 400]);
    expect([at(8, 0), at(8, 0.999)]).toEqual([500, 1000]);
  });
});

describe('createForgeFetch against a real server', () => {
  it('hands back the last transient answer once the retries are spent', async () => {
    handlers = [answer(503), answer(503), answer(503)];
    const events: RetryEvent[] = [];
    const fetch = createForgeFetch({
      retry: { retries: 2, minDelayMs: 1, maxDelayMs: 2 },
      onRetry: (e) => events.push(e),
    });
    const response = await fetch(`${url}/x?token-free=1`);
    expect(response.status).toBe(503);
    expect(hits).toBe(3);
    expect(events.map((e) => e.url)).toEqual([`${url}/x`, `${url}/x`]);
  });

  it('does not retry a permanent error', async () => {
    handlers = [answer(404)];
    const response = await createForgeFetch({ retry: { retries: 3, minDelayMs: 1 } })(`${url}/x`);
    expect(response.status).toBe(404);
    expect(hits).toBe(1);
  });

  it('does not retry a body it cannot send twice', async () => {
    handlers = [answer(503)];
    const body = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('{}'));
        controller.close();
      },
    });
    const response = await createForgeFetch({ retry: { retries: 3, minDelayMs: 1 } })(`${url}/x`, {
      method: 'POST',
      body,
      duplex: 'half',
    } as RequestInit);
    expect(response.status).toBe(503);
    expect(hits).toBe(1);
  });

  it('never sends a create twice when the first may have been carried out', async () => {
    const silent: Handler = () => {
      // never answers: the pull request may or may not have been opened
    };
    const fetch = createForgeFetch({ timeoutMs: 1_500, retry: { retries: 3, minDelayMs: 1, maxDelayMs: 2 } });
    const post = { method: 'POST', body: '{"title":"t"}' };
    handlers = [silent, silent];
    const err = await fetch(`${url}/pulls`, post).catch((e: unknown) => e);
    expect((err as GitOpsError).code).toBe(ErrorCodes.Unreachable);
    expect(hits).toBe(1);
    // Let the client see the abandoned connection closed before the next request.
    server.closeAllConnections();
    await new Promise((resolve) => setTimeout(resolve, 50));

    hits = 0;
    handlers = [answer(502), answer(201)];
    expect((await fetch(`${url}/pulls`, post)).status).toBe(502);
    expect(hits).toBe(1);

    // 503 and 429 say the server did not act; a refused connection carried nothing.
    hits = 0;
    handlers = [answer(503), answer(429, { 'retry-after': '0' }), answer(201)];
    expect((await fetch(`${url}/pulls`, post)).status).toBe(201);
    expect(hits).toBe(3);
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const retries: RetryEvent[] = [];
    const refused = createForgeFetch({
      retry: { retries: 2, minDelayMs: 1, maxDelayMs: 2 },
      onRetry: (e) => retries.push(e),
    });
    const refusedErr = await refused(`http://127.0.0.1:${port}/pulls`, post).catch((e: unknown) => e);
    expect((refusedErr as GitOpsError).code).toBe(ErrorCodes.Unreachable);
    expect(retries).toHaveLength(2);
    // A PUT is the same however often it is sent: retried after a timeout too.
    hits = 0;
    handlers = [silent, answer(200)];
    expect((await fetch(`${url}/merge`, { method: 'PUT', body: '{}' })).status).toBe(200);
    expect(hits).toBe(2);
    server.closeAllConnections();
    await new Promise((resolve) => setTimeout(resolve, 50));
  });

  it('stops waiting out a Retry-After when the caller aborts', async () => {
    handlers = [answer(429, { 'retry-after': '30' })];
    const controller = new AbortController();
    const fetch = createForgeFetch({
      retry: { retries: 3 },
      onRetry: () => setTimeout(() => controller.abort(), 20),
    });
    const err = await fetch(`${url}/x`, { signal: controller.signal }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GitOpsError);
    expect((err as GitOpsError).code).toBe(ErrorCodes.Aborted);
    expect(hits).toBe(1);
  });

  it('gives each attempt a time limit and reports a server that never answers', async () => {
    const silent: Handler = () => {
      // never answers
    };
    handlers = [silent, silent];
    const fetch = createForgeFetch({ timeoutMs: 100, retry: { retries: 1, minDelayMs: 1, maxDelayMs: 2 } });
    const err = await fetch(`${url}/x`).catch((e: unknown) => e);
    expect((err as GitOpsError).code).toBe(ErrorCodes.Unreachable);
    expect((err as GitOpsError).message).toContain('within 100 ms');
    expect(hits).toBe(2);
    server.closeAllConnections();
  });
});
