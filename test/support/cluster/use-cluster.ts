/**
 * The cluster tests run against: the user's (LIBGITOPS_TEST_KUBECONFIG or KUBECONFIG) if given,
 * else one control plane per test run, started by the first worker that asks, shared by all
 * workers through a state file, and stopped by its supervisor when the run's main process ends.
 */
import { join } from 'node:path';

import { withLock } from '../cache.js';
import { ensureClusterBinaries } from './build.js';
import { readKubeconfig, userKubeconfigPath } from './external-cluster.js';
import type { ClusterAccess } from './kube-request.js';
import {
  accessFromState,
  clustersDir,
  isServing,
  readState,
  removeStaleRuns,
  startSupervisor,
} from './supervisor.js';

export interface TestCluster extends ClusterAccess {
  /** `started`: our own control plane; `kubeconfig`: the user's cluster, used as it is. */
  source: 'started' | 'kubeconfig';
}

/**
 * What a `beforeAll` that calls useCluster() should allow: a cold first run builds the servers
 * (10-30 min on 2 cores). Pass it as the hook's timeout.
 */
export const clusterSetupTimeoutMs = 45 * 60_000;

let shared: Promise<TestCluster> | undefined;

/** The shared cluster of this test run (started on first use, reused by every worker). */
export function useCluster(): Promise<TestCluster> {
  shared ??= openCluster().catch((err: unknown) => {
    // Let a later call try again rather than replay this failure forever.
    shared = undefined;
    throw err;
  });
  return shared;
}

async function openCluster(): Promise<TestCluster> {
  const userConfig = userKubeconfigPath();
  if (userConfig) return { ...(await readKubeconfig(userConfig)), source: 'kubeconfig' };
  // Built here, not in the supervisor, so the build's progress shows in this run's output.
  await ensureClusterBinaries();
  const owner = testRunPid();
  const stateDir = join(clustersDir(), `run-${owner}`);
  return withLock(`cluster-run-${owner}`, async () => {
    const existing = await readState(stateDir);
    if (await isServing(existing)) return { ...accessFromState(existing!), source: 'started' };
    await removeStaleRuns();
    const state = await startSupervisor(stateDir, owner);
    return { ...accessFromState(state), source: 'started' };
  });
}

/**
 * The process whose end ends the run: vitest's main process. Forked workers (they have an IPC
 * channel) are its children; worker threads share its pid.
 */
function testRunPid(): number {
  return process.send !== undefined ? process.ppid : process.pid;
}
