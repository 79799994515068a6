/**
 * One real control plane on loopback, started the way envtest does it: etcd, kube-apiserver
 * with RBAC and generated certificates, and kube-controller-manager so that Deployments get
 * ReplicaSets, namespaces finish deleting and the garbage collector runs. Workloads run too:
 * kube-scheduler binds Pods to a few nodes simulated by KWOK, which turns them Running and
 * Ready (or Succeeded, or Failed) as kwok-stages.yaml says, without containers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { ErrorCodes, GitOpsError } from '../../../src/runtime/errors.js';
import { freePort, waitFor } from '../cache.js';
import { ensureClusterBinaries, type ClusterBinaries } from './build.js';
import { kubeRequest, type ClusterAccess } from './kube-request.js';
import { createPki, type ControlPlanePki } from './pki.js';

export interface StartOptions {
  /** Folder for certificates, etcd data, logs and the kubeconfig; a new temp folder by default. */
  dir?: string;
  /** Run kube-controller-manager too (default true); without it namespaces never finish deleting. */
  controllerManager?: boolean;
  /**
   * Simulated nodes for workloads (default 3, or LIBGITOPS_TEST_NODES); 0 starts neither
   * kube-scheduler nor KWOK. Needs the controller manager.
   */
  nodes?: number;
  /** How long the API server may take to become ready (default 120 s: the machine may be busy). */
  readyTimeoutMs?: number;
  /** Use these binaries instead of building them (e.g. ones you built yourself). */
  binaries?: ClusterBinaries;
  /** More flags for one server, e.g. a feature gate; a later flag of the same name wins. */
  extraArgs?: {
    etcd?: string[];
    apiserver?: string[];
    controllerManager?: string[];
    scheduler?: string[];
    kwok?: string[];
  };
  /** Build progress; defaults to stderr. */
  log?: (line: string) => void;
  signal?: AbortSignal;
}

export interface ControlPlane extends ClusterAccess {
  caPem: string;
  certPem: string;
  keyPem: string;
  /** Folder holding everything of this control plane (removed by stop() if it was made here). */
  dir: string;
  /** The process ids, so a supervisor can report them. */
  pids: { etcd: number; apiserver: number; controllerManager?: number; scheduler?: number; kwok?: number };
  /** Names of the simulated nodes. */
  nodes: string[];
  /** Stops every process (gracefully, then by force) and removes what it wrote. */
  stop(): Promise<void>;
}

/** The Stage objects that say how simulated nodes and Pods behave. */
export const KWOK_STAGES_FILE = fileURLToPath(new URL('./kwok-stages.yaml', import.meta.url));

/** How many simulated nodes a control plane gets unless told: LIBGITOPS_TEST_NODES, else 3. */
export function defaultNodeCount(): number {
  const raw = process.env.LIBGITOPS_TEST_NODES;
  if (raw === undefined || raw === '') return 3;
  const count = Number(raw);
  if (!Number.isInteger(count) || count < 0 || count > 100) {
    throw new GitOpsError(
      ErrorCodes.BadRequest,
      `LIBGITOPS_TEST_NODES must be a whole number from 0 to 100, not "${raw}"`,
    );
  }
  return count;
}

/**
 * Builds the binaries if needed, then starts etcd, kube-apiserver, kube-controller-manager,
 * kube-scheduler and KWOK, and waits for the simulated nodes to be Ready.
 */
export async function startControlPlane(options: StartOptions = {}): Promise<ControlPlane> {
  const binaries =
    options.binaries ?? (await ensureClusterBinaries({ log: options.log, signal: options.signal }));
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'libgitops-control-plane-')));
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const processes: Supervised[] = [];
  const stop = async (): Promise<void> => {
    // Reverse order: the controller manager and API server first, etcd last.
    for (const proc of [...processes].reverse()) await proc.stop();
    if (ownDir) await rm(dir, { recursive: true, force: true });
  };
  try {
    const pki = await createPki(await makeDir(join(dir, 'pki')));
    const etcd = await startEtcd(binaries, dir, processes, options);
    const apiserver = await startApiserver(binaries, dir, pki, etcd.clientUrl, processes, options);
    const kubeconfigPath = join(dir, 'kubeconfig');
    await writeFile(kubeconfigPath, kubeconfig(apiserver.server, pki), { mode: 0o600 });
    let controllerManager: Supervised | undefined;
    if (options.controllerManager !== false) {
      controllerManager = await startControllerManager(
        binaries,
        dir,
        pki,
        kubeconfigPath,
        processes,
        options,
      );
    }
    const access = {
      kubeconfigPath,
      server: apiserver.server,
      caPem: pki.caPem,
      certPem: pki.adminCertPem,
      keyPem: pki.adminKeyPem,
    };
    const nodeCount = options.nodes ?? defaultNodeCount();
    let scheduler: Supervised | undefined;
    let kwok: Supervised | undefined;
    let nodes: string[] = [];
    if (nodeCount > 0 && controllerManager !== undefined) {
      scheduler = startScheduler(binaries, dir, kubeconfigPath, processes, options);
      kwok = await startKwok(binaries, dir, kubeconfigPath, processes, options);
      nodes = await createNodes(access, nodeCount);
      await kwok.until(
        `${nodeCount} simulated nodes to be Ready`,
        options.readyTimeoutMs ?? 120_000,
        async () => (await readyNodes(access, nodes)) === nodes.length,
      );
      await scheduler.ensureRunning();
    }
    return {
      ...access,
      dir,
      pids: {
        etcd: etcd.proc.pid,
        apiserver: apiserver.proc.pid,
        controllerManager: controllerManager?.pid,
        scheduler: scheduler?.pid,
        kwok: kwok?.pid,
      },
      nodes,
      stop,
    };
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}

async function makeDir(path: string): Promise<string> {
  await mkdir(path, { recursive: true, mode: 0o700 });
  return path;
}

async function startEtcd(
  binaries: ClusterBinaries,
  dir: string,
  processes: Supervised[],
  options: StartOptions,
): Promise<{ clientUrl: string; proc: Supervised }> {
  const [clientPort, peerPort] = await distinctPorts(2);
  const clientUrl = `http://127.0.0.1:${clientPort}`;
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  const proc = supervise(
    'etcd',
    binaries.etcd,
    [
      '--name=default',
      `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=${clientUrl}`,
      `--advertise-client-urls=${clientUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=default=${peerUrl}`,
      // Test data is thrown away; fsync would only make every write wait for the disk.
      '--unsafe-no-fsync=true',
      '--log-level=warn',
      ...(options.extraArgs?.etcd ?? []),
    ],
    dir,
  );
  processes.push(proc);
  await proc.until('etcd to answer /health', options.readyTimeoutMs ?? 120_000, async () => {
    const res = await fetch(`${clientUrl}/health`);
    return res.ok && ((await res.json()) as { health?: string }).health === 'true';
  });
  return { clientUrl, proc };
}

async function startApiserver(
  binaries: ClusterBinaries,
  dir: string,
  pki: ControlPlanePki,
  etcdUrl: string,
  processes: Supervised[],
  options: StartOptions,
): Promise<{ server: string; proc: Supervised }> {
  const [port] = await distinctPorts(1);
  const server = `https://127.0.0.1:${port}`;
  const proc = supervise(
    'kube-apiserver',
    binaries.kubeApiserver,
    [
      `--etcd-servers=${etcdUrl}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${port}`,
      // A loopback advertise address avoids the "no default routes" failure on machines without
      // a network; with no endpoint reconciler nobody tries to publish that address as an Endpoint.
      '--advertise-address=127.0.0.1',
      '--endpoint-reconciler-type=none',
      `--tls-cert-file=${pki.servingCertFile}`,
      `--tls-private-key-file=${pki.servingKeyFile}`,
      `--client-ca-file=${pki.caCertFile}`,
      '--service-cluster-ip-range=10.0.0.0/24',
      '--authorization-mode=RBAC',
      '--allow-privileged=true',
      // No token controller for pods here, and no kubelet to mount one.
      '--disable-admission-plugins=ServiceAccount',
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${pki.serviceAccountPublicKeyFile}`,
      `--service-account-signing-key-file=${pki.serviceAccountKeyFile}`,
      '--profiling=false',
      '--v=0',
      ...(options.extraArgs?.apiserver ?? []),
    ],
    dir,
  );
  processes.push(proc);
  const access = {
    kubeconfigPath: '',
    server,
    caPem: pki.caPem,
    certPem: pki.adminCertPem,
    keyPem: pki.adminKeyPem,
  };
  await proc.until('kube-apiserver to answer /readyz', options.readyTimeoutMs ?? 120_000, async () => {
    const res = await kubeRequest(access, 'GET', '/readyz', { timeoutMs: 5_000 });
    return res.status === 200;
  });
  return { server, proc };
}

async function startControllerManager(
  binaries: ClusterBinaries,
  dir: string,
  pki: ControlPlanePki,
  kubeconfigPath: string,
  processes: Supervised[],
  options: StartOptions,
): Promise<Supervised> {
  const proc = supervise(
    'kube-controller-manager',
    binaries.kubeControllerManager,
    [
      `--kubeconfig=${kubeconfigPath}`,
      // It serves nothing tests need; 0 keeps it off the fixed port 10257 so several can run.
      '--secure-port=0',
      '--leader-elect=false',
      '--use-service-account-credentials=false',
      `--service-account-private-key-file=${pki.serviceAccountKeyFile}`,
      `--root-ca-file=${pki.caCertFile}`,
      '--controllers=*',
      '--service-cluster-ip-range=10.0.0.0/24',
      // Tests create and delete many namespaces at once; the default 20 QPS would queue them.
      '--kube-api-qps=200',
      '--kube-api-burst=400',
      '--v=0',
      ...(options.extraArgs?.controllerManager ?? []),
    ],
    dir,
  );
  processes.push(proc);
  // There is no port to poll; give it a moment to fail on a bad flag rather than later in a test.
  await new Promise((resolve) => setTimeout(resolve, 500));
  await proc.ensureRunning();
  return proc;
}

function startScheduler(
  binaries: ClusterBinaries,
  dir: string,
  kubeconfigPath: string,
  processes: Supervised[],
  options: StartOptions,
): Supervised {
  const proc = supervise(
    'kube-scheduler',
    binaries.kubeScheduler,
    [
      `--kubeconfig=${kubeconfigPath}`,
      // Serves only health and metrics, which tests do not read; 0 keeps it off port 10259.
      '--secure-port=0',
      '--leader-elect=false',
      '--kube-api-qps=200',
      '--kube-api-burst=400',
      '--v=0',
      ...(options.extraArgs?.scheduler ?? []),
    ],
    dir,
  );
  processes.push(proc);
  return proc;
}

async function startKwok(
  binaries: ClusterBinaries,
  dir: string,
  kubeconfigPath: string,
  processes: Supervised[],
  options: StartOptions,
): Promise<Supervised> {
  const proc = supervise(
    'kwok',
    binaries.kwok,
    [
      `--kubeconfig=${kubeconfigPath}`,
      `--config=${KWOK_STAGES_FILE}`,
      // Only the nodes made below: a user's cluster with real nodes is never touched.
      `--manage-nodes-with-annotation-selector=${KWOK_NODE_ANNOTATION}=fake`,
      '--node-ip=10.243.0.1',
      // Its kubelet-like API (logs, exec) is not used; no server, no port to collide on.
      '--server-address=',
      ...(options.extraArgs?.kwok ?? []),
    ],
    dir,
  );
  processes.push(proc);
  await new Promise((resolve) => setTimeout(resolve, 300));
  await proc.ensureRunning();
  return proc;
}

const KWOK_NODE_ANNOTATION = 'kwok.x-k8s.io/node';

/** Node objects for KWOK to run: untainted, so ordinary workloads schedule onto them. */
async function createNodes(access: ClusterAccess, count: number): Promise<string[]> {
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    const name = `kwok-node-${i}`;
    const node = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name,
        annotations: { [KWOK_NODE_ANNOTATION]: 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
        labels: {
          'kubernetes.io/hostname': name,
          'kubernetes.io/os': 'linux',
          'kubernetes.io/arch': 'amd64',
          'node-role.kubernetes.io/agent': '',
          type: 'kwok',
        },
      },
      spec: {},
    };
    const res = await kubeRequest(access, 'POST', '/api/v1/nodes', { body: node });
    if (res.status !== 201 && res.status !== 409) {
      throw new GitOpsError(
        ErrorCodes.ServiceUnavailable,
        `could not create simulated node ${name}: HTTP ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`,
      );
    }
    names.push(name);
  }
  return names;
}

async function readyNodes(access: ClusterAccess, names: string[]): Promise<number> {
  const res = await kubeRequest<{
    items: { metadata: { name: string }; status?: { conditions?: { type: string; status: string }[] } }[];
  }>(access, 'GET', '/api/v1/nodes', { timeoutMs: 5_000 });
  if (res.status !== 200) return 0;
  const list = res.body;
  return list.items.filter(
    (node) =>
      names.includes(node.metadata.name) &&
      node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
  ).length;
}

async function distinctPorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

/** A kubeconfig with everything embedded, so the file alone is enough for kubectl. */
function kubeconfig(server: string, pki: ControlPlanePki): string {
  const b64 = (pem: string): string => Buffer.from(pem).toString('base64');
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'libgitops-test', cluster: { server, 'certificate-authority-data': b64(pki.caPem) } }],
    users: [
      {
        name: 'libgitops-test-admin',
        user: { 'client-certificate-data': b64(pki.adminCertPem), 'client-key-data': b64(pki.adminKeyPem) },
      },
    ],
    contexts: [
      { name: 'libgitops-test', context: { cluster: 'libgitops-test', user: 'libgitops-test-admin' } },
    ],
    'current-context': 'libgitops-test',
    preferences: {},
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}

interface Supervised {
  name: string;
  pid: number;
  logFile: string;
  /** Polls `check` until true; fails at once, with the log's tail, if the process exits. */
  until(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void>;
  /** Throws, with the log's tail, if the process has already exited. */
  ensureRunning(): Promise<void>;
  stop(): Promise<void>;
}

function supervise(name: string, binary: string, args: string[], dir: string): Supervised {
  const logFile = join(dir, `${name}.log`);
  const fd = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(binary, args, { stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd);
  }
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  let spawnError: Error | undefined;
  const exited = new Promise<void>((resolve) => {
    child.on('exit', (code, signal) => {
      exit = { code, signal };
      resolve();
    });
    child.on('error', (err) => {
      spawnError = err;
      resolve();
    });
  });
  const failure = async (): Promise<GitOpsError> => {
    const tail = (await readFile(logFile, 'utf8').catch(() => ''))
      .trimEnd()
      .split('\n')
      .slice(-25)
      .join('\n');
    const how = spawnError
      ? `could not start (${spawnError.message})`
      : `exited (${exit?.signal ?? `code ${exit?.code}`})`;
    return new GitOpsError(ErrorCodes.ServiceUnavailable, `${name} ${how}; last lines of its log:\n${tail}`, {
      details: { file: logFile },
      cause: spawnError,
    });
  };
  return {
    name,
    pid: child.pid ?? -1,
    logFile,
    async until(what, timeoutMs, check) {
      let done = false;
      const died = exited.then(async () => {
        if (!done) throw await failure();
      });
      try {
        // Once the process is gone, stop polling too: `died` carries the error.
        const checkUnlessExited = async (): Promise<boolean> => (exit || spawnError ? true : check());
        await Promise.race([waitFor(what, checkUnlessExited, timeoutMs, 100), died]);
      } catch (err) {
        if (err instanceof GitOpsError) throw err;
        const tail = (await readFile(logFile, 'utf8').catch(() => ''))
          .trimEnd()
          .split('\n')
          .slice(-25)
          .join('\n');
        throw new GitOpsError(
          ErrorCodes.Timeout,
          `${(err as Error).message}; last lines of its log:\n${tail}`,
          { details: { file: logFile }, cause: err },
        );
      } finally {
        done = true;
        died.catch(() => undefined);
      }
    },
    async ensureRunning() {
      if (exit || spawnError) throw await failure();
    },
    async stop() {
      if (exit || spawnError || child.pid === undefined) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
