import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { signSha256Header } from '../../src/forge/index.js';
import { createServer } from '../../src/server/index.js';
import type { OperatorServer } from '../../src/server/index.js';
import { DeliveryMemory, EngineTarget, Operator } from '../../src/operator/index.js';
import { clusterSetupTimeoutMs, useCluster } from '../support/cluster/index.js';

const secret = 'webhook-secret-limits';
let operator: Operator;
let server: OperatorServer;
let base: string;
let port: number;

beforeAll(async () => {
  const cluster = await useCluster();
  operator = new Operator({ destinations: new EngineTarget({ kubeconfig: cluster.kubeconfigPath }) });
  server = createServer({
    operator,
    apiToken: 'limits-token',
    webhookSecret: secret,
    processMetrics: false,
    // Small limits, so the tests reach them quickly; no test measures how long anything took.
    limits: { bodyBytes: 1024, requestTimeoutMs: 400, headersTimeoutMs: 400, maxConnections: 3 },
  });
  base = await server.listen({ host: '127.0.0.1', port: 0 });
  port = Number(new URL(base).port);
}, clusterSetupTimeoutMs);

afterAll(async () => {
  await server?.close();
  await operator?.stop();
});

function signedHeaders(body: string, delivery?: string): Record<string, string> {
  return {
    'content-type': 'application/json',
    'x-signature-256': signSha256Header(secret, body),
    ...(delivery === undefined ? {} : { 'x-delivery': delivery }),
  };
}

/** A raw connection; resolves once connected. */
async function open(): Promise<{ socket: Socket; received: () => string; closed: Promise<void> }> {
  const socket = connect(port, '127.0.0.1');
  let text = '';
  socket.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return { socket, received: () => text, closed };
}

/** Waits for `closed`; a generous guard turns a connection that is never closed into a failure. */
async function closedWithin(closed: Promise<void>, what: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    closed,
    new Promise(
      (_, reject) => (timer = setTimeout(() => reject(new Error(`${what} was never closed`)), 30_000)),
    ),
  ]).finally(() => clearTimeout(timer));
}

describe('HTTP server limits', () => {
  it('answers 413 with RequestEntityTooLarge to a body over the limit', async () => {
    const body = JSON.stringify({ pad: 'x'.repeat(2048) });
    const res = await fetch(`${base}/webhook`, { method: 'POST', headers: signedHeaders(body), body });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('RequestEntityTooLarge');
  });

  it('answers 415 with UnsupportedMediaType to a missing or unsupported content type', async () => {
    const body = '{"ref":"refs/heads/main"}';
    const plain = await fetch(`${base}/webhook`, {
      method: 'POST',
      headers: { ...signedHeaders(body), 'content-type': 'text/plain' },
      body,
    });
    expect(plain.status).toBe(415);
    expect(((await plain.json()) as { error: { code: string } }).error.code).toBe('UnsupportedMediaType');
    // No content type at all (a raw request: fetch would add one).
    const raw = await open();
    raw.socket.write(
      `POST /webhook HTTP/1.1\r\nhost: x\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`,
    );
    await closedWithin(raw.closed, 'the connection');
    expect(raw.received()).toMatch(/^HTTP\/1\.1 415 /);
    expect(raw.received()).toContain('UnsupportedMediaType');
  });

  it('closes a connection whose body trickles in slower than the request timeout allows', async () => {
    const slow = await open();
    slow.socket.write(
      'POST /webhook HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{',
    );
    // One byte at a time keeps the connection busy, so only the whole-request timeout can end it.
    const drip = setInterval(() => slow.socket.write(' '), 50);
    try {
      await closedWithin(slow.closed, 'the slow connection');
    } finally {
      clearInterval(drip);
    }
    expect(slow.received()).toMatch(/^HTTP\/1\.1 408 |^$/);
  });

  it('closes connections over the limit as they arrive, and keeps serving the others', async () => {
    // Kept-alive connections of the tests before would count: they go first.
    server.app.server.closeAllConnections();
    const kept = [await open(), await open(), await open()];
    // A full request on each: the server has surely accepted them all.
    for (const c of kept) c.socket.write('GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n');
    for (const c of kept)
      await expect.poll(() => c.received(), { timeout: 30_000 }).toMatch(/^HTTP\/1\.1 200 /);
    const extra = await open();
    await closedWithin(extra.closed, 'the connection over the limit');
    expect(extra.received()).toBe('');
    kept[0]!.socket.write('GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n');
    await closedWithin(kept[0]!.closed, 'the first connection');
    expect(kept[0]!.received().match(/HTTP\/1\.1 200 /g)).toHaveLength(2);
    for (const c of kept) c.socket.destroy();
  });

  it('refuses a replayed webhook delivery with 409, and only after its signature is good', async () => {
    const body = JSON.stringify({
      repository: 'https://example.invalid/a/b.git',
      ref: 'refs/heads/main',
      after: 'a'.repeat(40),
    });
    const first = await fetch(`${base}/webhook`, {
      method: 'POST',
      headers: signedHeaders(body, 'd-1'),
      body,
    });
    expect(first.status).toBeLessThan(300);
    const again = await fetch(`${base}/webhook`, {
      method: 'POST',
      headers: signedHeaders(body, 'd-1'),
      body,
    });
    expect(again.status).toBe(409);
    expect(((await again.json()) as { error: { code: string } }).error.code).toBe('Conflict');
    // A forged delivery cannot use up an id: it is refused for its signature and leaves no mark.
    const forged = await fetch(`${base}/webhook`, {
      method: 'POST',
      headers: { ...signedHeaders(body, 'd-2'), 'x-signature-256': signSha256Header('wrong', body) },
      body,
    });
    expect(forged.status).toBe(401);
    const genuine = await fetch(`${base}/webhook`, {
      method: 'POST',
      headers: signedHeaders(body, 'd-2'),
      body,
    });
    expect(genuine.status).toBeLessThan(300);
  });
});

describe('DeliveryMemory', () => {
  it('remembers an id for its window only, on its own clock, and keeps at most maxEntries', () => {
    let now = 0;
    const memory = new DeliveryMemory(3_600_000, 3, () => now);
    expect(memory.remember('a')).toBe(true);
    expect(memory.remember('a')).toBe(false);
    now = 3_599_999;
    expect(memory.remember('a')).toBe(false);
    now = 3_600_000;
    expect(memory.remember('a')).toBe(true);
    for (const id of ['b', 'c', 'd']) expect(memory.remember(id)).toBe(true);
    expect(memory.size).toBe(3);
    // The oldest went to make room.
    expect(memory.remember('a')).toBe(true);
  });
});
