/**
 * The operator end to end, on the real control plane of the tests and a real git daemon:
 * 1. delay from a push to all objects applied, for a one-file change in a 1,000-object
 *    repository: our operator (signed webhook -> notifyPush -> fetch -> render -> engine) next to
 *    the seed's method (a loop of `git pull`, `kubectl apply -f` of the whole folder, sleep 5 s),
 *    in the same run. Target: median under 1 s.
 * 2. memory of an operator process (`gitops sync URL`, following) managing 10,000 ConfigMaps:
 *    RSS after the first sync and its peak (VmHWM), read from /proc. Target: under 300 MB.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

import { signSha256Header } from '../src/forge/index.js';
import { KubeClient } from '../src/kube/index.js';
import { createServer } from '../src/server/index.js';
import { OperatorManager, applicationFor } from '../src/operator/index.js';
import type { SyncRecord } from '../src/operator/index.js';
import { useCluster } from '../test/support/cluster/use-cluster.js';
import { pushCommit, startGitServer } from '../test/support/git-server/index.js';
import type { BenchContext } from './harness.js';

const run = promisify(execFile);
const OBJECTS = 1_000;
const MEMORY_OBJECTS = 10_000;
const OUR_PUSHES = 7;
const SEED_PUSHES = 3;
const SEED_POLL_MS = 5_000;
const TARGET_MEDIAN_MS = 1_000;
const TARGET_RSS_MB = 300;

function configMaps(namespace: string, count: number, value = 'v0'): Record<string, string> {
  const files: Record<string, string> = {
    'config/namespace.yaml': `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${namespace}\n`,
  };
  for (let i = 0; i < count - 1; i++)
    files[`config/cm-${String(i).padStart(5, '0')}.yaml`] = configMap(namespace, i, value);
  return files;
}

function configMap(namespace: string, i: number, value: string): string {
  const name = `cm-${String(i).padStart(5, '0')}`;
  return (
    `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: ${namespace}\n` +
    `  labels:\n    app.kubernetes.io/name: ${name}\ndata:\n  value: ${value}\n  config.yaml: |\n    level: info\n    retries: ${i % 7}\n`
  );
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const fmt = (values: readonly number[]): string =>
  `median ${median(values).toFixed(0)} ms, min ${Math.min(...values).toFixed(0)}, max ${Math.max(...values).toFixed(0)} (n=${values.length})`;

async function run_(context: BenchContext): Promise<void> {
  const cluster = await useCluster();
  const git = await startGitServer({ transports: ['git'] });
  const stamp = Date.now().toString(36);
  const admin = KubeClient.fromKubeconfig({ kubeconfigPath: cluster.kubeconfigPath });
  const work = await mkdtemp(join(tmpdir(), 'libgitops-bench-operator-'));
  const namespaces: string[] = [];
  try {
    // --- 1a. our operator: webhook -> notifyPush -> sync.
    const ourNs = `bench-op-${stamp}`;
    namespaces.push(ourNs);
    const ourRepo = await git.createRepo(`bench/op-${stamp}`, { files: configMaps(ourNs, OBJECTS) });
    // As `gitops run` sets it up (OperatorManager: destinations, credentials, charts).
    const manager = new OperatorManager({ kubeconfig: cluster.kubeconfigPath });
    const operator = manager.operator;
    const synced = new Map<string, number>();
    operator.on((e) => {
      if (e.type === 'sync' && e.record.revision !== undefined)
        synced.set(e.record.revision, performance.now());
    });
    const records: SyncRecord[] = [];
    operator.on((e) => {
      if (e.type === 'sync') records.push(e.record);
    });
    operator.upsert(
      applicationFor({
        name: 'bench',
        namespace: 'default',
        repoURL: ourRepo.urls.git!,
        paths: ['config'],
        interval: '1h',
        prune: true,
      }),
    );
    const secret = 'bench-webhook-secret';
    const server = createServer({
      operator,
      webhookSecret: secret,
      processMetrics: false,
      insecureNoAuth: true,
    });
    const base = await server.listen();
    const t0 = performance.now();
    operator.start();
    await waitFor(
      () => records.some((r) => r.result === 'synced'),
      300_000,
      'the first sync of 1,000 objects',
    );
    context.log(
      `first sync of ${OBJECTS} objects (untimed for the target): ${(performance.now() - t0).toFixed(0)} ms`,
    );
    const ours: number[] = [];
    for (let i = 1; i <= OUR_PUSHES; i++) {
      const sha = await pushCommit(ourRepo.over('git'), {
        files: { [`config/cm-00500.yaml`]: configMap(ourNs, 500, `v${i}`) },
      });
      const pushed = performance.now();
      const body = JSON.stringify({ repository: ourRepo.urls.git, ref: 'refs/heads/main', after: sha });
      const res = await fetch(`${base}/webhook`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-signature-256': signSha256Header(secret, body) },
        body,
      });
      if (res.status !== 200) throw new Error(`webhook answered ${res.status}: ${await res.text()}`);
      await waitFor(() => synced.has(sha), 60_000, `revision ${sha} to be synced`);
      ours.push(synced.get(sha)! - pushed);
      const live = await admin.get({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        namespace: ourNs,
        name: 'cm-00500',
      });
      if ((live?.data as Record<string, string> | undefined)?.value !== `v${i}`)
        context.fail(`after push ${i} the ConfigMap does not hold v${i}`);
    }
    await server.close();
    await manager.close();

    // --- 1b. the seed: pull every 5 s and kubectl apply -f the whole folder.
    const seedNs = `bench-seed-${stamp}`;
    namespaces.push(seedNs);
    const seedRepo = await git.createRepo(`bench/seed-${stamp}`, { files: configMaps(seedNs, OBJECTS) });
    const clone = join(work, 'seed');
    await run('git', ['clone', '-q', '--', seedRepo.urls.git!, clone]);
    const applied: Array<{ head: string; end: number }> = [];
    let stop = false;
    let applyMs = 0;
    const loop = (async () => {
      while (!stop) {
        await run('git', ['-C', clone, 'pull', '-q']);
        const head = (await run('git', ['-C', clone, 'rev-parse', 'HEAD'])).stdout.trim();
        const began = performance.now();
        // Like the seed, a failed apply is tried again next round (its first run fails: the
        // ConfigMaps sort before their Namespace).
        const ok = await run(
          'kubectl',
          [`--kubeconfig=${cluster.kubeconfigPath}`, 'apply', '-f', join(clone, 'config')],
          { maxBuffer: 64 * 1024 * 1024 },
        ).then(
          () => true,
          () => false,
        );
        applyMs = performance.now() - began;
        if (!ok) {
          await new Promise((r) => setTimeout(r, SEED_POLL_MS));
          continue;
        }
        applied.push({ head, end: performance.now() });
        await new Promise((r) => setTimeout(r, SEED_POLL_MS));
      }
    })();
    await waitFor(() => applied.length > 0, 300_000, 'the seed loop to apply once');
    const seed: number[] = [];
    for (let i = 1; i <= SEED_PUSHES; i++) {
      // A random phase against the 5 s poll, as real pushes have.
      await new Promise((r) => setTimeout(r, Math.random() * SEED_POLL_MS));
      const sha = await pushCommit(seedRepo.over('git'), {
        files: { [`config/cm-00500.yaml`]: configMap(seedNs, 500, `v${i}`) },
      });
      const pushed = performance.now();
      await waitFor(() => applied.some((a) => a.head === sha), 300_000, `the seed to apply ${sha}`);
      seed.push(applied.find((a) => a.head === sha)!.end - pushed);
    }
    stop = true;
    await loop;

    context.log(`push -> all applied, one-file change in a ${OBJECTS}-object repository:`);
    context.log(`  libgitops operator (signed webhook): ${fmt(ours)}`);
    context.log(
      `  seed (5 s poll + kubectl apply -f folder, ${applyMs.toFixed(0)} ms per apply): ${fmt(seed)}`,
    );
    context.log(`  speed-up at the median: ${(median(seed) / median(ours)).toFixed(1)}x`);
    if (median(ours) >= TARGET_MEDIAN_MS)
      context.fail(`push-to-applied median ${median(ours).toFixed(0)} ms (target < ${TARGET_MEDIAN_MS} ms)`);

    // --- 2. memory of an operator process with 10,000 managed objects.
    const memNs = `bench-mem-${stamp}`;
    namespaces.push(memNs);
    const memRepo = await git.createRepo(`bench/mem-${stamp}`, { files: configMaps(memNs, MEMORY_OBJECTS) });
    const memory = await operatorMemory(cluster.kubeconfigPath, memRepo.urls.git!);
    context.log(
      `operator process managing ${MEMORY_OBJECTS} ConfigMaps: first sync ${memory.syncMs.toFixed(0)} ms; ` +
        `RSS after it ${memory.rssMb.toFixed(0)} MB, peak RSS ${memory.peakMb.toFixed(0)} MB, ` +
        `after a no-op timer sync ${memory.steadyMb.toFixed(0)} MB`,
    );
    if (memory.peakMb >= TARGET_RSS_MB)
      context.fail(
        `operator peak RSS ${memory.peakMb.toFixed(0)} MB with ${MEMORY_OBJECTS} objects (target < ${TARGET_RSS_MB} MB)`,
      );
  } finally {
    for (const ns of namespaces)
      await admin.delete({ apiVersion: 'v1', kind: 'Namespace', name: ns }).catch(() => undefined);
    for (const app of ['default.bench', 'default.bench-memory'])
      await admin
        .delete({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          namespace: 'default',
          name: `libgitops-inventory-${app}`,
        })
        .catch(() => undefined);
    admin.close();
    await git.close();
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * Runs `gitops sync URL` (following, 10 s interval) in a child and reads its memory from /proc.
 * `compiled` runs bin/gitops.js on dist/ (what users run, after `npm run build`); `tsx` runs the
 * sources through the tsx loader, whose transpiler and source maps add their own heap.
 */
export async function operatorMemory(
  kubeconfig: string,
  url: string,
  how: 'compiled' | 'tsx' = 'compiled',
): Promise<{ syncMs: number; rssMb: number; peakMb: number; steadyMb: number }> {
  const main = resolve('src/cli/main.ts');
  const script = `import { main } from ${JSON.stringify(main)}; process.exitCode = await main(['node', 'gitops', ...process.argv.slice(1)]);`;
  const entry =
    how === 'compiled'
      ? [resolve('bin/gitops.js')]
      : ['--import', 'tsx', '--input-type=module', '-e', script];
  const child = spawn(
    process.execPath,
    [
      ...entry,
      'sync',
      url,
      // Followed, so it stays up for the steady-state figures (gitops sync runs once by default).
      '--follow',
      '--path',
      'config',
      '--prune',
      '--interval',
      '10s',
      `--kubeconfig=${kubeconfig}`,
      '-n',
      'default',
      '--name',
      'bench-memory',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  const syncs: number[] = [];
  let failed: string | undefined;
  const began = performance.now();
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    for (const line of chunk.split('\n')) {
      if (/"msg":"sync"/.test(line)) syncs.push(performance.now());
      if (/"msg":"sync failed"/.test(line)) failed = line;
    }
  });
  const status = async (): Promise<{ rss: number; hwm: number }> => {
    const text = await readFile(`/proc/${child.pid}/status`, 'utf8');
    const kb = (field: string): number => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(text)?.[1] ?? 0);
    return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
  };
  try {
    await waitFor(
      () => syncs.length >= 1 || failed !== undefined || child.exitCode !== null,
      600_000,
      'the operator to sync 10,000 objects',
    );
    if (failed !== undefined) throw new Error(`the operator's sync failed: ${failed.slice(0, 2000)}`);
    if (child.exitCode !== null) throw new Error(`the operator exited: ${stderr.slice(-2000)}`);
    const syncMs = syncs[0]! - began;
    const after = await status();
    await waitFor(() => syncs.length >= 2 || child.exitCode !== null, 120_000, 'a timer sync');
    const steady = await status();
    return { syncMs, rssMb: after.rss, peakMb: steady.hwm, steadyMb: steady.rss };
  } finally {
    // It may have exited already: its 'close' event is then gone, and waiting for it would hang.
    const closed = new Promise((r) => child.once('close', r));
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await closed;
    }
  }
}

async function waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export { run_ as run };
