/**
 * A control plane that outlives the process asking for it: a detached supervisor process runs
 * it, writes a state file others read, and stops it when told to or when its owner (the test
 * run's main process) is gone. One is shared by every worker of a test run; one more is the
 * developer's own, from `npm run cluster -- up`.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { ErrorCodes, GitOpsError } from '../../../src/runtime/errors.js';
import { cacheRoot, waitFor } from '../cache.js';
import { startControlPlane, type ControlPlane } from './control-plane.js';
import { kubeRequest, type ClusterAccess } from './kube-request.js';

export interface SupervisorState {
  status: 'starting' | 'ready' | 'failed';
  /** The supervisor's pid, which is also its process group (it runs detached). */
  pid: number;
  /** Stop when this process is gone (the test run); absent for a developer's cluster. */
  owner?: number;
  error?: string;
  kubeconfigPath?: string;
  server?: string;
  caPem?: string;
  certPem?: string;
  keyPem?: string;
  startedAt?: string;
  startSeconds?: number;
}

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const cliPath = fileURLToPath(new URL('./cli.ts', import.meta.url));

/** Where supervised control planes keep their state: one folder each. */
export function clustersDir(): string {
  return join(cacheRoot(), 'clusters');
}

export function stateFile(stateDir: string): string {
  return join(stateDir, 'state.json');
}

export async function readState(stateDir: string): Promise<SupervisorState | undefined> {
  try {
    return JSON.parse(await readFile(stateFile(stateDir), 'utf8')) as SupervisorState;
  } catch {
    return undefined;
  }
}

async function writeState(stateDir: string, state: SupervisorState): Promise<void> {
  // Write then rename, so a reader never sees half a file.
  const temp = `${stateFile(stateDir)}.${process.pid}.tmp`;
  await writeFile(temp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  await rename(temp, stateFile(stateDir));
}

export function isAlive(pid: number | undefined): boolean {
  if (!pid || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function accessFromState(state: SupervisorState): ClusterAccess {
  return {
    kubeconfigPath: state.kubeconfigPath ?? '',
    server: state.server ?? '',
    caPem: state.caPem,
    certPem: state.certPem,
    keyPem: state.keyPem,
  };
}

/** True when the state says ready, its supervisor lives and the API server answers /readyz. */
export async function isServing(state: SupervisorState | undefined): Promise<boolean> {
  if (state?.status !== 'ready' || !isAlive(state.pid)) return false;
  try {
    return (await kubeRequest(accessFromState(state), 'GET', '/readyz', { timeoutMs: 5_000 })).status === 200;
  } catch {
    return false;
  }
}

/**
 * Starts a supervisor for `stateDir` in its own process group and waits until its control
 * plane is ready. The binaries must already be built (the caller shows the build's progress).
 */
export async function startSupervisor(
  stateDir: string,
  owner?: number,
  timeoutMs = 180_000,
): Promise<SupervisorState> {
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  await rm(stateFile(stateDir), { force: true });
  const logFile = join(stateDir, 'supervisor.log');
  const fd = openSync(logFile, 'w');
  const args = ['--import', 'tsx', cliPath, 'serve', '--state-dir', stateDir];
  if (owner !== undefined) args.push('--owner', String(owner));
  let child;
  try {
    child = spawn(process.execPath, args, { cwd: repoRoot, detached: true, stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd);
  }
  child.unref();
  const pid = child.pid ?? -1;
  let state: SupervisorState | undefined;
  const tail = async (): Promise<string> =>
    (await readFile(logFile, 'utf8').catch(() => '')).trimEnd().split('\n').slice(-25).join('\n');
  try {
    await waitFor(
      'the control plane supervisor to report ready',
      async () => {
        state = await readState(stateDir);
        if (state?.status === 'ready' || state?.status === 'failed') return true;
        if (!isAlive(pid)) throw new Error('the supervisor exited');
        return false;
      },
      timeoutMs,
      200,
    );
  } catch (err) {
    if (isAlive(pid)) killGroup(pid, 'SIGKILL');
    throw new GitOpsError(
      ErrorCodes.ServiceUnavailable,
      `could not start the test control plane: ${(err as Error).message}; last lines of ${logFile}:\n${await tail()}`,
      { details: { file: logFile }, cause: err },
    );
  }
  if (state?.status !== 'ready') {
    throw new GitOpsError(
      ErrorCodes.ServiceUnavailable,
      `could not start the test control plane: ${state?.error ?? 'unknown error'}\n(supervisor log: ${logFile})`,
      { details: { file: logFile } },
    );
  }
  return state;
}

/** Asks a supervisor to stop its control plane, and forces its whole group down if it will not. */
export async function stopSupervisor(stateDir: string, timeoutMs = 30_000): Promise<boolean> {
  const state = await readState(stateDir);
  if (!state || !isAlive(state.pid)) {
    await rm(stateFile(stateDir), { force: true });
    return false;
  }
  killGroup(state.pid, 'SIGTERM');
  try {
    await waitFor('the control plane to stop', async () => !isAlive(state.pid), timeoutMs, 100);
  } catch {
    killGroup(state.pid, 'SIGKILL');
  }
  await rm(stateFile(stateDir), { force: true });
  return true;
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    // The supervisor runs detached, so its pid is its process group: this reaches etcd and the rest.
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

/** Removes the folders of test runs whose owner and supervisor are both gone (a crash, a kill -9). */
export async function removeStaleRuns(): Promise<void> {
  const names = await readdir(clustersDir()).catch(() => [] as string[]);
  for (const name of names.filter((n) => n.startsWith('run-'))) {
    const dir = join(clustersDir(), name);
    const state = await readState(dir);
    const owner = Number(name.slice('run-'.length));
    if (!isAlive(owner) && !isAlive(state?.pid)) await rm(dir, { recursive: true, force: true });
  }
}

/** The supervisor process itself (`cli.ts serve`): runs until signalled or orphaned. */
export async function runSupervisor(stateDir: string, owner?: number): Promise<void> {
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const base: SupervisorState = { status: 'starting', pid: process.pid, owner };
  await writeState(stateDir, base);
  const planeDir = join(stateDir, 'control-plane');
  await rm(planeDir, { recursive: true, force: true });
  const started = Date.now();
  let plane: ControlPlane;
  try {
    plane = await startControlPlane({ dir: planeDir, log: (line) => process.stderr.write(`${line}\n`) });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`${message}\n`);
    await writeState(stateDir, { ...base, status: 'failed', error: message });
    process.exitCode = 1;
    return;
  }
  let stopping = false;
  const shutdown = async (why: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`stopping the control plane: ${why}\n`);
    await plane.stop().catch((err: unknown) => process.stderr.write(`stop failed: ${String(err)}\n`));
    await rm(planeDir, { recursive: true, force: true });
    await rm(stateFile(stateDir), { force: true });
    // A test run's folder goes entirely; a developer's keeps its log for a look afterwards.
    if (owner !== undefined) await rm(stateDir, { recursive: true, force: true });
    process.exit(0);
  };
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const)
    process.on(signal, () => void shutdown(signal));
  await writeState(stateDir, {
    ...base,
    status: 'ready',
    kubeconfigPath: plane.kubeconfigPath,
    server: plane.server,
    caPem: plane.caPem,
    certPem: plane.certPem,
    keyPem: plane.keyPem,
    startedAt: new Date().toISOString(),
    startSeconds: (Date.now() - started) / 1000,
  });
  process.stderr.write(`control plane ready at ${plane.server} (pids ${JSON.stringify(plane.pids)})\n`);
  setInterval(() => {
    if (owner !== undefined && !isAlive(owner)) void shutdown(`its owner, process ${owner}, has ended`);
  }, 1_000);
}
