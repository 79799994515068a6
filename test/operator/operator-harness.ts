/**
 * What every operator test file sets up: the shared test cluster, a Git server, the operators and
 * engine targets a test starts (stopped when the file ends), and kubectl on that cluster.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll } from 'vitest';

import type { EngineTarget } from '../../src/operator/engine-target.js';
import type { Operator } from '../../src/operator/operator.js';
import { clusterSetupTimeoutMs, useCluster } from '../support/cluster/index.js';
import type { TestCluster } from '../support/cluster/index.js';
import { startGitServer } from '../support/git-server/index.js';
import type { GitServer, Transport } from '../support/git-server/index.js';

const run = promisify(execFile);

export interface OperatorHarness {
  /** Available from `beforeAll` on. */
  readonly cluster: TestCluster;
  readonly server: GitServer;
  /** Operators and targets pushed here are stopped and closed after the file's tests. */
  readonly operators: Operator[];
  readonly targets: EngineTarget[];
  kubectl(args: string[]): Promise<string>;
}

/** Registers the file's beforeAll/afterAll; call it once at the top of a test file. */
export function operatorHarness(transports: Transport[]): OperatorHarness {
  let cluster: TestCluster | undefined;
  let server: GitServer | undefined;
  const operators: Operator[] = [];
  const targets: EngineTarget[] = [];

  beforeAll(async () => {
    cluster = await useCluster();
    server = await startGitServer({ transports });
  }, clusterSetupTimeoutMs);

  afterAll(async () => {
    await Promise.all(operators.map((o) => o.stop()));
    for (const t of targets) t.close();
    await server?.close();
  });

  const harness: OperatorHarness = {
    get cluster() {
      if (cluster === undefined) throw new Error('the cluster is only there from beforeAll on');
      return cluster;
    },
    get server() {
      if (server === undefined) throw new Error('the git server is only there from beforeAll on');
      return server;
    },
    operators,
    targets,
    async kubectl(args) {
      const { stdout } = await run('kubectl', [`--kubeconfig=${harness.cluster.kubeconfigPath}`, ...args]);
      return stdout;
    },
  };
  return harness;
}
