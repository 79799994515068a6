/**
 * `npm run cluster -- up|down|env`: a developer's own control plane, running in the background
 * until `down`, for trying kubectl or the operator by hand. `serve` is the supervisor process
 * itself, started by `up` and by test runs; people do not call it.
 */
import { join } from 'node:path';

import { isGitOpsError } from '../../../src/runtime/errors.js';
import { ensureClusterBinaries } from './build.js';
import {
  clustersDir,
  isServing,
  readState,
  runSupervisor,
  startSupervisor,
  stopSupervisor,
} from './supervisor.js';

const usage = `usage: npm run -s cluster -- up|down|env
  up    build the servers if needed, start etcd, kube-apiserver, kube-controller-manager,
        kube-scheduler and KWOK's simulated nodes (LIBGITOPS_TEST_NODES, default 3) in the
        background, and print the line that points kubectl at them
  env   print that line again
  down  stop them
e.g.  eval "$(npm run -s cluster -- up)" && kubectl get ns`;

const devDir = (): string => join(clustersDir(), 'dev');

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'up': {
      let state = await readState(devDir());
      if (!(await isServing(state))) {
        await stopSupervisor(devDir());
        await ensureClusterBinaries();
        state = await startSupervisor(devDir());
        process.stderr.write(
          `control plane started at ${state.server} in ${state.startSeconds?.toFixed(1)} s\n`,
        );
      }
      process.stdout.write(`export KUBECONFIG=${state?.kubeconfigPath}\n`);
      return 0;
    }
    case 'env': {
      const state = await readState(devDir());
      if (!(await isServing(state))) {
        process.stderr.write('no control plane is running: start one with `npm run cluster -- up`\n');
        return 1;
      }
      process.stdout.write(`export KUBECONFIG=${state?.kubeconfigPath}\n`);
      return 0;
    }
    case 'down': {
      const stopped = await stopSupervisor(devDir());
      process.stderr.write(stopped ? 'control plane stopped\n' : 'no control plane was running\n');
      return 0;
    }
    case 'serve': {
      const stateDir = option(rest, '--state-dir');
      const owner = option(rest, '--owner');
      if (!stateDir) throw new Error('serve needs --state-dir');
      await runSupervisor(stateDir, owner === undefined ? undefined : Number(owner));
      return typeof process.exitCode === 'number' ? process.exitCode : 0;
    }
    default:
      process.stderr.write(`${usage}\n`);
      return command === undefined || command === 'help' || command === '--help' ? 0 : 2;
  }
}

function option(args: string[], name: string): string | undefined {
  const index = args.indexOf(name);
  return index >= 0 ? args[index + 1] : undefined;
}

main(process.argv.slice(2)).then(
  (code) => {
    // `serve` keeps running on its timers and children; every other command ends here.
    if (code !== 0 || process.argv[2] !== 'serve') process.exit(code);
  },
  (err: unknown) => {
    process.stderr.write(
      `${isGitOpsError(err) ? err.format() : err instanceof Error ? err.message : String(err)}\n`,
    );
    process.exit(1);
  },
);
