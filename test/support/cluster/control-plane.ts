/**
 * One real control plane on loopback, started the way envtest does it: etcd, kube-apiserver
 * with RBAC and generated certificates, and kube-controller-manager so that Deployments get
 * ReplicaSets, namespaces finish deleting and the garbage collector runs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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
  /** How long the API server may take to become ready (default 120 s: the machine may be busy). */
  readyTimeoutMs?: number;
  /** Use these binaries instead of building them (e.g. ones you built yourself). */
  binaries?: ClusterBinaries;
  /** More flags for one server, e.g. a feature gate; a later flag of the same name wins. */
  extraArgs?: { etcd?: string[]; apiserver?: string[]; controllerManager?: string[] };
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
  pids: { etcd: number; apiserver: number; controllerManager?: number };
  /** Stops every process (gracefully, then by force) and removes what it wrote. */
  stop(): Promise<void>;
}

/** Builds the binaries if needed, then starts etcd, kube-apiserver and kube-controller-manager. */
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
    return {
      kubeconfigPath,
      server: apiserver.server,
      caPem: pki.caPem,
      certPem: pki.adminCertPem,
      keyPem: pki.adminKeyPem,
      dir,
      pids: { etcd: etcd.proc.pid, apiserver: apiserver.proc.pid, controllerManager: controllerManager?.pid },
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
