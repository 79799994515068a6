import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { signSha256Header } from '../../src/forge/index.js';
import { createServer } from '../../src/server/index.js';
import type { OperatorServer } from '../../src/server/index.js';
import { EngineTarget, Operator, applicationFor } from '../../src/operator/index.js';
import { clusterSetupTimeoutMs, testNamespace, useCluster } from '../support/cluster/index.js';
import type { TestCluster, TestNamespace } from '../support/cluster/index.js';
import { pushCommit, startGitServer } from '../support/git-server/index.js';
import type { GitServer, ServedRepo } from '../support/git-server/index.js';

const run = promisify(execFile);
const token = 'test-api-token-0123456789';
const secret = 'webhook-secret-abcdef';

let cluster: TestCluster;
let git: GitServer;
let repo: ServedRepo;
let home: TestNamespace;
let operator: Operator;
let server: OperatorServer;
let base: string;

function configMap(name: string, mode: string): string {
  return `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n  mode: ${mode}\n`;
}

beforeAll(async () => {
  cluster = await useCluster();
  git = await startGitServer({ transports: ['git'] });
  home = await testNamespace(cluster, 'op-server');
  repo = await git.createRepo(`team/hook-${home.name}`, {
    files: { 'app/cm.yaml': configMap('hooked', 'first') },
  });
  operator = new Operator({ destinations: new EngineTarget({ kubeconfig: cluster.kubeconfigPath }) });
  // A long interval: only the webhook can make this operator see a push within the test.
  operator.upsert(
    applicationFor({
      name: 'hooked',
      namespace: home.name,
      repoURL: repo.urls.git!,
      paths: ['app'],
      interval: '1h',
      destinationNamespace: home.name,
    }),
  );
  operator.start();
  server = createServer({ operator, apiToken: token, webhookSecret: secret, processMetrics: false });
  base = await server.listen();
}, clusterSetupTimeoutMs);

afterAll(async () => {
  await server?.close();
  await operator?.stop();
  await git?.close();
  await home?.delete();
});

const auth = { authorization: `Bearer ${token}` };

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function liveMode(): Promise<string> {
  const { stdout } = await run('kubectl', [
    `--kubeconfig=${cluster.kubeconfigPath}`,
    'get',
    'configmap',
    'hooked',
    '-n',
    home.name,
    '--ignore-not-found',
    '-o',
    'jsonpath={.data.mode}',
  ]);
  return stdout;
}

describe('operator HTTP server', () => {
  it('answers probes, and refuses the API without the bearer token', async () => {
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    await until(async () => (await fetch(`${base}/readyz`)).status === 200, 'readiness');
    expect((await fetch(`${base}/api/v1/applications`)).status).toBe(401);
    expect(
      (await fetch(`${base}/api/v1/applications`, { headers: { authorization: 'Bearer wrong' } })).status,
    ).toBe(401);
    const list = (await (await fetch(`${base}/api/v1/applications`, { headers: auth })).json()) as {
      items: Array<{ name: string }>;
    };
    expect(list.items.map((a) => a.name)).toEqual(['hooked']);
    expect((await fetch(`${base}/api/v1/applications/${home.name}/missing`, { headers: auth })).status).toBe(
      404,
    );
  });

  it('applies a push when a signed webhook arrives, and refuses a bad signature', async () => {
    await until(async () => (await liveMode()) === 'first', 'the first sync');
    const after = await pushCommit(repo.over('git'), {
      files: { 'app/cm.yaml': configMap('hooked', 'second') },
    });
    const body = JSON.stringify({ repository: repo.urls.git, ref: 'refs/heads/main', after });

    const forged = await fetch(`${base}/webhook`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-signature-256': signSha256Header('wrong', body) },
      body,
    });
    expect(forged.status).toBe(401);

    const delivered = await fetch(`${base}/webhook`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-signature-256': signSha256Header(secret, body) },
      body,
    });
    expect(delivered.status).toBe(200);
    expect(await delivered.json()).toMatchObject({ accepted: true, fetched: 1 });
    await until(async () => (await liveMode()) === 'second', 'the pushed change to be applied');

    // The object changes before the sync finishes (inventory, status): the API shows it once done.
    await until(async () => {
      const res = await fetch(`${base}/api/v1/applications/${home.name}/hooked/status`, { headers: auth });
      return ((await res.json()) as { lastSyncedRevision?: string }).lastSyncedRevision === after;
    }, 'the status to show the pushed revision');
  }, 60_000);

  it('syncs on request, shows an empty diff when in sync, and exports metrics', async () => {
    const synced = await fetch(`${base}/api/v1/applications/${home.name}/hooked/sync`, {
      method: 'POST',
      headers: auth,
    });
    expect(synced.status).toBe(200);
    expect(((await synced.json()) as { phase: string }).phase).toBe('Synced');
    const diff = await fetch(`${base}/api/v1/applications/${home.name}/hooked/diff`, { headers: auth });
    expect(diff.status).toBe(200);
    expect(await diff.text()).toBe('');
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(
      new RegExp(`gitops_sync_total\\{app="${home.name}/hooked",result="synced"\\} [1-9]`),
    );
    expect(metrics).toMatch(/gitops_webhook_requests_total\{status="401"\} 1/);
    expect(metrics).toMatch(/gitops_git_fetch_total\{result="ok"\} [1-9]/);
    expect(metrics).toMatch(
      /gitops_api_requests_total\{method="GET",route="\/api\/v1\/applications",status="401"\} 2/,
    );
  }, 60_000);

  it('serves /metrics on a port of its own when asked, with standard unprefixed process metrics', async () => {
    const separate = createServer({ operator, apiToken: token, separateMetrics: true });
    try {
      const main = await separate.listen();
      const metricsUrl = await separate.listenMetrics();
      expect(metricsUrl).not.toBe(main);
      expect((await fetch(`${main}/metrics`)).status).toBe(404);
      expect((await fetch(`${main}/healthz`)).status).toBe(200);
      expect((await fetch(`${metricsUrl}/healthz`)).status).toBe(200);
      expect((await fetch(`${metricsUrl}/webhook`, { method: 'POST' })).status).toBe(404);
      const text = await (await fetch(`${metricsUrl}/metrics`)).text();
      expect(text).toMatch(/^process_cpu_user_seconds_total \d/m);
      expect(text).toMatch(/^nodejs_eventloop_lag_seconds /m);
      expect(text).not.toMatch(/gitops_process_|gitops_nodejs_/);
      expect(text).toMatch(/^# TYPE gitops_sync_total counter/m);
    } finally {
      await separate.close();
    }
  });
});
