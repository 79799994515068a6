/**
 * `npm start`: a demo of the operator on an embedded default. With no KUBECONFIG (and no
 * --kubeconfig) it starts the local control plane of test/support/cluster (the `npm run
 * cluster` machinery, left running for kubectl afterwards), makes a Git repository from
 * examples/seed (a Namespace and a Deployment whose files sort the wrong way), syncs it once
 * with the engine, prints the result table, waits for the Deployment to be available on the
 * cluster's nodes (KWOK's simulated ones locally) and exits (0 when Synced and Healthy);
 * `--watch` keeps following.
 * A demo script, not the product: it may use the test servers.
 */
import { execFile } from 'node:child_process';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

import { printViews } from '../src/cli/commands-sync.js';
import { HELM_ENV } from '../src/helm/index.js';
import { toGitOpsError } from '../src/runtime/index.js';
import { OperatorManager, applicationFor } from '../src/operator/index.js';
import { ensureClusterBinaries } from '../test/support/cluster/build.js';
import { ensureHelm } from '../test/support/helm/build.js';
import {
  clustersDir,
  isServing,
  readState,
  startSupervisor,
  stopSupervisor,
} from '../test/support/cluster/supervisor.js';

const run = promisify(execFile);
const seedDir = fileURLToPath(new URL('../examples/seed/', import.meta.url));
const output = { out: (line: string) => console.log(line), err: (line: string) => console.error(line) };

async function kubeconfigPath(args: string[]): Promise<string> {
  const flag = args.find((a) => a.startsWith('--kubeconfig='));
  if (flag !== undefined) return flag.slice('--kubeconfig='.length);
  const fromEnv = process.env.KUBECONFIG;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  // The same developer cluster `npm run cluster -- up` starts, so kubectl can look at it afterwards.
  const dir = join(clustersDir(), 'dev');
  let state = await readState(dir);
  if (!(await isServing(state))) {
    output.err(
      'no KUBECONFIG: starting the local control plane (the first time builds it, which takes a while)',
    );
    await stopSupervisor(dir);
    await ensureClusterBinaries();
    state = await startSupervisor(dir);
  }
  if (state?.kubeconfigPath === undefined) throw new Error('the local control plane did not start');
  output.err(
    `local control plane at ${state.server}: export KUBECONFIG=${state.kubeconfigPath} (stop: npm run cluster -- down)`,
  );
  return state.kubeconfigPath;
}

/** A Git repository with examples/seed under config/, committed once. */
async function demoRepository(root: string): Promise<string> {
  const dir = join(root, 'demo');
  await cp(seedDir, join(dir, 'config'), { recursive: true });
  const git = (...args: string[]) =>
    run('git', [
      '-C',
      dir,
      '-c',
      'user.name=libgitops demo',
      '-c',
      'user.email=demo@libgitops.invalid',
      ...args,
    ]);
  await run('git', ['init', '-q', '-b', 'main', '--', dir]);
  await git('add', '--', 'config');
  await git('commit', '-q', '-m', 'The seed config');
  return pathToFileURL(dir).href;
}

const HEALTH_WAIT_MS = 120_000;

async function main(args: string[]): Promise<number> {
  const watch = args.includes('--watch');
  const kubeconfig = await kubeconfigPath(args);
  // Charts render with the helm the tests build (cached beside the control plane), unless one is given.
  if (!process.env[HELM_ENV]) process.env[HELM_ENV] = await ensureHelm();
  const root = await mkdtemp(join(tmpdir(), 'libgitops-demo-'));
  // The same set-up as `gitops run` and `gitops sync`.
  const manager = new OperatorManager({ kubeconfig, follow: watch });
  const operator = manager.operator;
  operator.on((event) => {
    if (event.type === 'progress') output.err(`${event.app}: ${event.step}`);
  });
  try {
    const repoURL = await demoRepository(root);
    output.err(`demo repository ${repoURL} (examples/seed as config/)`);
    const app = applicationFor({
      name: 'seed',
      namespace: 'default',
      repoURL,
      paths: ['config'],
      prune: true,
    });
    operator.upsert(app);
    const views = await operator.syncAll('manual');
    printViews(views, 'table', output);
    const synced = views.every((v) => v.status.phase === 'Synced');
    // The sync ends once everything is applied; the Deployment then rolls out on the cluster's
    // nodes (simulated ones on the local control plane). Say when it is up.
    const health = synced ? await manager.untilHealthy(app, { timeoutMs: HEALTH_WAIT_MS }) : undefined;
    if (health !== undefined) {
      output.out(
        health === 'Healthy'
          ? 'seed: Synced and Healthy (the nginx Deployment is available)'
          : `seed: Synced, health ${health} after ${HEALTH_WAIT_MS / 1000} s`,
      );
    }
    if (!watch) return synced && health === 'Healthy' ? 0 : 1;
    output.err(`following ${repoURL}; commit there to see it applied (Ctrl-C to stop)`);
    operator.start();
    await new Promise<void>((done) => {
      process.once('SIGINT', done);
      process.once('SIGTERM', done);
    });
    return 0;
  } finally {
    await manager.close();
    await rm(root, { recursive: true, force: true });
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    output.err(`error: ${toGitOpsError(error).message}`);
    process.exit(1);
  },
);
