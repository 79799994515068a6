/**
 * Smart HTTP: `git http-backend` run as a CGI behind a small Node HTTP server that asks for
 * basic auth on every request, like a private repository on a forge. Bodies are streamed both
 * ways; gzip request bodies are passed to http-backend, which inflates them itself.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { join } from 'node:path';

import { ErrorCodes, GitOpsError } from '../../../src/runtime/errors.js';
import { gitExecPath, isolatedGitEnv } from './git-command.js';
import type { GitRemote } from './repo.js';
import { onFreePort } from './transport-server.js';
import type { TransportServer } from './transport-server.js';

export interface HttpCredentials {
  username: string;
  password: string;
}

/** One request the server answered, so tests can see what git sent (chunked, gzip, 401). */
export interface HttpRequestRecord {
  method: string;
  path: string;
  status: number;
  contentEncoding?: string;
  /** Sent chunked (no Content-Length), as git does for bodies larger than http.postBuffer. */
  chunked: boolean;
  /** Bytes of the request body as received (compressed if it was). */
  bodyBytes: number;
}

export interface HttpGitServer extends TransportServer {
  readonly transport: 'http';
  /** `http://127.0.0.1:PORT`, never with credentials in it. */
  readonly baseUrl: string;
  readonly username: string;
  readonly password: string;
  /** Accepted as the password with any user name, like a forge's access token. */
  readonly token: string;
  /** Every request so far, oldest first. */
  readonly requests: readonly HttpRequestRecord[];
  /**
   * The environment that makes git answer the server's 401 with these credentials (a
   * credential-store file in the server's folder), for any credentials, right or wrong.
   */
  credentialEnv(credentials: HttpCredentials): Promise<Record<string, string>>;
}

export interface HttpGitServerOptions {
  reposDir: string;
  /** A private folder for the credential files. */
  stateDir: string;
  username?: string;
  password?: string;
  token?: string;
}

const realm = 'libgitops test git server';

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

function same(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

/** The user name of a valid `Authorization: Basic` header, or undefined. */
function authenticate(
  header: string | undefined,
  accounts: { username: string; password: string; token: string },
): string | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  const username = decoded.slice(0, colon);
  const password = decoded.slice(colon + 1);
  if (username === '') return undefined;
  if (same(password, accounts.token)) return username;
  if (same(username, accounts.username) && same(password, accounts.password)) return username;
  return undefined;
}

/** Splits CGI output into its header block and the rest, once the blank line has arrived. */
function splitCgiHeaders(buffer: Buffer): { head: string; body: Buffer } | undefined {
  const crlf = buffer.indexOf('\r\n\r\n');
  const lf = buffer.indexOf('\n\n');
  if (crlf < 0 && lf < 0) return undefined;
  const useCrlf = crlf >= 0 && (lf < 0 || crlf < lf);
  const end = useCrlf ? crlf : lf;
  return { head: buffer.subarray(0, end).toString('latin1'), body: buffer.subarray(end + (useCrlf ? 4 : 2)) };
}

function parseCgiHead(head: string): { status: number; headers: [string, string][] } {
  let status = 200;
  const headers: [string, string][] = [];
  for (const line of head.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10) || 500;
    else headers.push([name, value]);
  }
  return { status, headers };
}

/** A URL path as http-backend's PATH_INFO, or undefined if it tries to leave the repositories folder. */
function pathInfoOf(pathname: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0') || decoded.split('/').some((part) => part === '..')) return undefined;
  return decoded;
}

export async function startHttpGitServer(options: HttpGitServerOptions): Promise<HttpGitServer> {
  const backend = join(await gitExecPath(), 'git-http-backend');
  const accounts = {
    username: options.username ?? 'tester',
    password: options.password ?? randomBytes(12).toString('hex'),
    token: options.token ?? `tok_${randomBytes(16).toString('hex')}`,
  };
  const requests: HttpRequestRecord[] = [];
  const backends = new Set<ChildProcess>();
  const baseEnv = {
    ...isolatedGitEnv(),
    GIT_PROJECT_ROOT: options.reposDir,
    GIT_HTTP_EXPORT_ALL: '1',
    // Pushing over HTTP is off by default in http-backend unless a user is authenticated; say so.
    GIT_CONFIG_COUNT: '1',
    GIT_CONFIG_KEY_0: 'http.receivepack',
    GIT_CONFIG_VALUE_0: 'true',
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const record: HttpRequestRecord = {
      method: req.method ?? 'GET',
      path: url.pathname,
      status: 0,
      contentEncoding: req.headers['content-encoding'],
      chunked: req.headers['content-length'] === undefined && req.headers['transfer-encoding'] !== undefined,
      bodyBytes: 0,
    };
    requests.push(record);
    res.on('finish', () => (record.status = res.statusCode));
    req.on('data', (chunk: Buffer) => (record.bodyBytes += chunk.length));

    const user = authenticate(req.headers.authorization, accounts);
    if (user === undefined) {
      req.resume();
      res.writeHead(401, { 'WWW-Authenticate': `Basic realm="${realm}"`, 'Content-Type': 'text/plain' });
      res.end('authentication required\n');
      return;
    }
    const pathInfo = pathInfoOf(url.pathname);
    if (pathInfo === undefined) {
      req.resume();
      res.writeHead(400, { 'Content-Type': 'text/plain' }).end('bad path\n');
      return;
    }
    const env: NodeJS.ProcessEnv = {
      ...baseEnv,
      GATEWAY_INTERFACE: 'CGI/1.1',
      SERVER_PROTOCOL: `HTTP/${req.httpVersion}`,
      REQUEST_METHOD: record.method,
      PATH_INFO: pathInfo,
      QUERY_STRING: url.search.slice(1),
      REMOTE_USER: user,
      REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
    };
    const contentType = req.headers['content-type'];
    if (contentType !== undefined) env.CONTENT_TYPE = contentType;
    // Without a length http-backend reads the body to its end, which is what a chunked body needs.
    if (req.headers['content-length'] !== undefined) env.CONTENT_LENGTH = req.headers['content-length'];
    if (record.contentEncoding !== undefined) env.HTTP_CONTENT_ENCODING = record.contentEncoding;
    const protocol = req.headers['git-protocol'];
    if (typeof protocol === 'string') env.HTTP_GIT_PROTOCOL = protocol;

    const child = spawn(backend, [], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    backends.add(child);
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (text: string) => {
      stderr = (stderr + text).slice(-4000);
    });
    // The backend may stop reading early (an error, a rejected push); the rest of the body is dropped.
    child.stdin.on('error', () => {});
    req.pipe(child.stdin);

    let pending: Buffer | undefined = Buffer.alloc(0);
    child.stdout.on('data', (chunk: Buffer) => {
      if (pending === undefined) return;
      pending = Buffer.concat([pending, chunk]);
      const split = splitCgiHeaders(pending);
      if (!split) return;
      pending = undefined;
      const { status, headers } = parseCgiHead(split.head);
      res.writeHead(status, headers.flat());
      if (split.body.length > 0) res.write(split.body);
      child.stdout.pipe(res);
    });
    child.on('error', (err) => {
      stderr += err.message;
    });
    child.on('close', (code) => {
      backends.delete(child);
      if (!res.headersSent) {
        res.writeHead(500, { 'Content-Type': 'text/plain' });
        res.end(`git http-backend failed (exit ${code ?? 'signal'}): ${stderr}\n`);
      } else if (!res.writableEnded) {
        res.end();
      }
    });
    // A client that went away mid-request leaves nobody to read the backend's answer.
    res.on('close', () => {
      if (!res.writableFinished && child.exitCode === null) child.kill('SIGKILL');
    });
  };

  const server: Server = createServer(handle);
  let listening = false;
  const listen = (port: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const onError = (err: Error): void => {
        server.off('listening', onListening);
        reject(
          new GitOpsError(
            ErrorCodes.Unreachable,
            `HTTP git server could not listen on 127.0.0.1:${port}: ${err.message}`,
            {
              cause: err,
            },
          ),
        );
      };
      const onListening = (): void => {
        server.off('error', onError);
        listening = true;
        resolve();
      };
      server.once('error', onError);
      server.once('listening', onListening);
      server.listen(port, '127.0.0.1');
    });
  const stop = async (): Promise<void> => {
    if (!listening) return;
    listening = false;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    for (const child of backends) child.kill('SIGKILL');
    await closed;
  };

  const port = await onFreePort(async (candidate) => {
    await listen(candidate);
    return candidate;
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  const urlOf = (name: string): string => `${baseUrl}/${name}.git`;

  let credentialFiles = 0;
  const credentialEnv = async (credentials: HttpCredentials): Promise<Record<string, string>> => {
    if (/[\0\r\n]/.test(credentials.username + credentials.password)) {
      throw new GitOpsError(ErrorCodes.Invalid, 'HTTP credentials must not contain line breaks', {
        details: { field: 'credentials' },
      });
    }
    const file = join(options.stateDir, `credentials-${++credentialFiles}`);
    const withCredentials = new URL(baseUrl);
    withCredentials.username = encodeURIComponent(credentials.username);
    withCredentials.password = encodeURIComponent(credentials.password);
    await writeFile(file, `${withCredentials.href.replace(/\/$/, '')}\n`, { mode: 0o600 });
    // The empty helper first drops helpers from any other configuration; the file path is ours.
    return {
      GIT_CONFIG_COUNT: '2',
      GIT_CONFIG_KEY_0: 'credential.helper',
      GIT_CONFIG_VALUE_0: '',
      GIT_CONFIG_KEY_1: 'credential.helper',
      GIT_CONFIG_VALUE_1: `store --file=${file}`,
    };
  };
  const defaultEnv = await credentialEnv({ username: accounts.username, password: accounts.password });

  return {
    transport: 'http',
    port,
    baseUrl,
    ...accounts,
    requests,
    get running() {
      return listening;
    },
    urlOf,
    remoteOf: (name: string): GitRemote => ({ transport: 'http', url: urlOf(name), env: { ...defaultEnv } }),
    credentialEnv,
    stop,
    restart: async () => {
      await stop();
      await listen(port);
    },
  };
}
