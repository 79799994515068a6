/**
 * A Helm chart repository on loopback for tests: charts packaged with `helm package`, indexed
 * with `helm repo index`, served by a static HTTP or HTTPS server with optional basic auth.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { createPki } from '../cluster/pki.js';
import { ensureHelm } from './build.js';

const run = promisify(execFile);

export interface ChartRepoOptions {
  /** Chart folders to package. */
  charts: string[];
  auth?: { username: string; password: string };
  /** Serve HTTPS with a throwaway CA (its PEM is `caPem`). */
  tls?: boolean;
}

export interface ChartRepoServer {
  url: string;
  caPem?: string;
  /** Paths asked for, with the status answered. */
  requests: Array<{ path: string; status: number }>;
  close(): Promise<void>;
}

export async function startChartRepo(options: ChartRepoOptions): Promise<ChartRepoServer> {
  const helm = await ensureHelm();
  const dir = await mkdtemp(join(tmpdir(), 'libgitops-chart-repo-'));
  const env = {
    PATH: process.env.PATH,
    HOME: dir,
    HELM_CACHE_HOME: join(dir, '.cache'),
    HELM_CONFIG_HOME: join(dir, '.config'),
  };
  const served = join(dir, 'served');
  for (const chart of options.charts) {
    await run(helm, ['package', `--destination=${served}`, '--', chart], { env });
  }
  const requests: ChartRepoServer['requests'] = [];
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const answer = (status: number, body: Buffer | string = ''): void => {
      requests.push({ path, status });
      res.writeHead(status, status === 401 ? { 'www-authenticate': 'Basic realm="charts"' } : {});
      res.end(body);
    };
    if (options.auth !== undefined) {
      const expected = `Basic ${Buffer.from(`${options.auth.username}:${options.auth.password}`).toString('base64')}`;
      if (req.headers.authorization !== expected) return answer(401);
    }
    const name = path.replace(/^\/+/, '');
    if (!/^[\w.-]+$/.test(name)) return answer(404);
    readFile(join(served, name)).then(
      (body) => answer(200, body),
      () => answer(404),
    );
  };
  const pki = options.tls ? await createPki(await mkdtemp(join(dir, 'pki-'))) : undefined;
  const server =
    pki === undefined
      ? createHttpServer(handler)
      : createHttpsServer(
          { cert: await readFile(pki.servingCertFile), key: await readFile(pki.servingKeyFile) },
          handler,
        );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const url = `${pki === undefined ? 'http' : 'https'}://127.0.0.1:${port}`;
  await run(helm, ['repo', 'index', `--url=${url}`, '--', served], { env });
  if ((await readdir(served)).length < options.charts.length + 1) throw new Error('charts were not packaged');
  return {
    url,
    ...(pki === undefined ? {} : { caPem: await readFile(pki.caCertFile, 'utf8') }),
    requests,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
