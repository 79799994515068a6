/**
 * A real HTTP server on 127.0.0.1 that plays back recorded request/response pairs in order and
 * checks each request it gets against the recording: method, path, query, headers, JSON body.
 * A request that does not match is answered 599 and remembered, so the test fails saying why.
 */
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isDeepStrictEqual } from 'node:util';

export interface RecordedRequest {
  method: string;
  /** Path and query; the query is compared as a set of decoded parameters. */
  path: string;
  /** Headers that must be present with exactly these values (names in lower case). */
  headers?: Record<string, string>;
  /** Headers that must not be sent. */
  absentHeaders?: string[];
  /** The JSON body, compared deeply; omit for requests without a body. */
  body?: unknown;
}

export interface RecordedResponse {
  status: number;
  /** `{{epoch+N}}` in a value becomes the Unix time N seconds from now. */
  headers?: Record<string, string>;
  /** JSON; `{{baseUrl}}` inside strings becomes the server's URL. */
  body?: unknown;
}

export interface RecordedExchange {
  name: string;
  request: RecordedRequest;
  response: RecordedResponse;
}

export interface Recording {
  description: string;
  /** Where the shapes come from (the forge's API documentation). */
  source: string;
  exchanges: Record<string, RecordedExchange[]>;
}

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  at: number;
}

export interface ReplayServer {
  readonly url: string;
  readonly received: ReceivedRequest[];
  readonly mismatches: string[];
  /** Queues exchanges to be played next. */
  play(exchanges: RecordedExchange[]): void;
  /** Names of exchanges not yet requested. */
  pending(): string[];
  /** Forgets everything queued, received and mismatched; returns what was left unplayed and the mismatches. */
  reset(): { pending: string[]; mismatches: string[] };
  close(): Promise<void>;
}

export async function loadRecording(name: string): Promise<Recording> {
  const text = await readFile(new URL(`./recordings/${name}`, import.meta.url), 'utf8');
  return JSON.parse(text) as Recording;
}

function substitute(value: unknown, baseUrl: string): unknown {
  if (typeof value === 'string') return value.split('{{baseUrl}}').join(baseUrl);
  if (Array.isArray(value)) return value.map((v) => substitute(v, baseUrl));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, baseUrl)]));
  }
  return value;
}

function headerValue(value: string, baseUrl: string): string {
  return value
    .replace(/\{\{epoch\+(\d+)\}\}/g, (_, n: string) => String(Math.floor(Date.now() / 1000) + Number(n)))
    .split('{{baseUrl}}')
    .join(baseUrl);
}

function queryOf(path: string): { pathname: string; params: [string, string][] } {
  const url = new URL(path, 'http://replay.invalid');
  const params = [...url.searchParams.entries()].sort(
    ([a, av], [b, bv]) => a.localeCompare(b) || av.localeCompare(bv),
  );
  return { pathname: decodeURIComponent(url.pathname), params };
}

function compare(expected: RecordedRequest, got: ReceivedRequest): string[] {
  const problems: string[] = [];
  if (expected.method !== got.method) problems.push(`method ${got.method}, expected ${expected.method}`);
  const want = queryOf(expected.path);
  const have = queryOf(got.path);
  if (want.pathname !== have.pathname) problems.push(`path ${have.pathname}, expected ${want.pathname}`);
  if (!isDeepStrictEqual(want.params, have.params)) {
    problems.push(`query ${JSON.stringify(have.params)}, expected ${JSON.stringify(want.params)}`);
  }
  for (const [name, value] of Object.entries(expected.headers ?? {})) {
    if (got.headers[name] !== value)
      problems.push(
        `header ${name} = ${JSON.stringify(got.headers[name])}, expected ${JSON.stringify(value)}`,
      );
  }
  for (const name of expected.absentHeaders ?? []) {
    if (got.headers[name] !== undefined) problems.push(`header ${name} must not be sent`);
  }
  if (expected.body === undefined) {
    if (got.body !== '') problems.push(`unexpected body ${got.body.slice(0, 200)}`);
  } else {
    let body: unknown;
    try {
      body = JSON.parse(got.body) as unknown;
    } catch {
      body = got.body;
    }
    if (!isDeepStrictEqual(body, expected.body)) {
      problems.push(`body ${JSON.stringify(body)}, expected ${JSON.stringify(expected.body)}`);
    }
  }
  return problems;
}

export async function startReplayServer(): Promise<ReplayServer> {
  const queue: RecordedExchange[] = [];
  const received: ReceivedRequest[] = [];
  const mismatches: string[] = [];
  let url = '';

  const handle = (req: IncomingMessage, res: ServerResponse, body: string) => {
    const got: ReceivedRequest = {
      method: req.method ?? '',
      path: req.url ?? '',
      headers: req.headers,
      body,
      at: Date.now(),
    };
    received.push(got);
    const next = queue.shift();
    if (next === undefined) {
      mismatches.push(`unexpected request ${got.method} ${got.path}: nothing more was recorded`);
      res
        .writeHead(599, { 'content-type': 'application/json' })
        .end('{"message":"no recorded exchange left"}');
      return;
    }
    const problems = compare(next.request, got);
    if (problems.length > 0) {
      mismatches.push(`${next.name}: ${problems.join('; ')}`);
      res
        .writeHead(599, { 'content-type': 'application/json' })
        .end(JSON.stringify({ message: problems.join('; ') }));
      return;
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(next.response.headers ?? {})) headers[k] = headerValue(v, url);
    if (next.response.body === undefined) {
      res.writeHead(next.response.status, headers).end();
      return;
    }
    headers['content-type'] ??= 'application/json; charset=utf-8';
    res.writeHead(next.response.status, headers).end(JSON.stringify(substitute(next.response.body, url)));
  };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handle(req, res, Buffer.concat(chunks).toString('utf8')));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    received,
    mismatches,
    play(exchanges) {
      queue.push(...exchanges);
    },
    pending() {
      return queue.map((e) => e.name);
    },
    reset() {
      const left = { pending: queue.splice(0).map((e) => e.name), mismatches: mismatches.splice(0) };
      received.splice(0);
      return left;
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
