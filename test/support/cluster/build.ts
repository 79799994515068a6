/**
 * Builds etcd, kube-apiserver, kube-controller-manager, kube-scheduler and KWOK (simulated nodes)
 * from the Go module proxy at pinned versions, once per machine: the binaries live in the test cache, a marker file says they were
 * built and answered `--version`, and a cross-process lock keeps parallel workers from building
 * twice.
 */
import { access, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { constants } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { ErrorCodes, GitOpsError } from '../../../src/runtime/errors.js';
import { cacheDir, withLock } from '../cache.js';
import { commandOutput, runLogged } from './run-command.js';

export const KUBE_VERSION = 'v1.32.13';
export const ETCD_VERSION = 'v3.5.21';
/** sigs.k8s.io/kwok: the newest release that builds here with the proxy's modules (v0.8.0). */
export const KWOK_VERSION = 'v0.8.0';

export interface ClusterBinaries {
  etcd: string;
  kubeApiserver: string;
  kubeControllerManager: string;
  kubeScheduler: string;
  kwok: string;
}

export interface BuildOptions {
  /** Progress lines; defaults to stderr so a cold CI run shows what it is doing. */
  log?: (line: string) => void;
  signal?: AbortSignal;
}

interface Marker {
  version: string;
  goVersion: string;
  binaries: string[];
  seconds: number;
  builtAt: string;
  /** What differs from the plain pins, e.g. a staging module the proxy would not serve. */
  notes: string[];
}

const markerName = 'built.json';
const templates = fileURLToPath(new URL('../go/', import.meta.url));

/** The five binaries, building whichever are missing. */
export async function ensureClusterBinaries(options: BuildOptions = {}): Promise<ClusterBinaries> {
  const log = options.log ?? ((line: string) => process.stderr.write(`[cluster] ${line}\n`));
  const etcdDir = await ensureBuilt(
    {
      key: `etcd-${ETCD_VERSION}`,
      version: ETCD_VERSION,
      binaries: ['etcd'],
      prepare: (dir, env) => prepareEtcd(dir, env),
      packages: ['go.etcd.io/etcd/server/v3'],
      ldflags: [],
      versionArgs: ['--version'],
      versionText: `etcd Version: ${ETCD_VERSION.slice(1)}`,
    },
    log,
    options.signal,
  );
  const kubeDir = await ensureBuilt(
    {
      key: `kube-${KUBE_VERSION}`,
      version: KUBE_VERSION,
      binaries: ['kube-apiserver', 'kube-controller-manager'],
      prepare: (dir, env) => prepareKube(dir, env, log, ['kube-apiserver', 'kube-controller-manager']),
      packages: ['k8s.io/kubernetes/cmd/kube-apiserver', 'k8s.io/kubernetes/cmd/kube-controller-manager'],
      ldflags: kubeVersionFlags(),
      versionArgs: ['--version'],
      versionText: `Kubernetes ${KUBE_VERSION}`,
    },
    log,
    options.signal,
  );
  // A cache of its own, so that machines which built the API server before do not rebuild it.
  const schedulerDir = await ensureBuilt(
    {
      key: `kube-scheduler-${KUBE_VERSION}`,
      version: KUBE_VERSION,
      binaries: ['kube-scheduler'],
      prepare: (dir, env) => prepareKube(dir, env, log, ['kube-scheduler']),
      packages: ['k8s.io/kubernetes/cmd/kube-scheduler'],
      ldflags: kubeVersionFlags(),
      versionArgs: ['--version'],
      versionText: `Kubernetes ${KUBE_VERSION}`,
    },
    log,
    options.signal,
  );
  const kwokDir = await ensureBuilt(
    {
      key: `kwok-${KWOK_VERSION}`,
      version: KWOK_VERSION,
      binaries: ['kwok'],
      prepare: async (dir) => {
        await writeFile(join(dir, 'go.mod'), await fillTemplate('kwok/go.mod.tmpl', { KWOK_VERSION }));
        await writeFile(join(dir, 'tools.go'), await fillTemplate('kwok/tools.go.tmpl', {}));
        return [];
      },
      packages: ['sigs.k8s.io/kwok/cmd/kwok'],
      ldflags: [],
      versionArgs: ['--version'],
      versionText: KWOK_VERSION.slice(1),
    },
    log,
    options.signal,
  );
  return {
    etcd: join(etcdDir, 'etcd'),
    kubeApiserver: join(kubeDir, 'kube-apiserver'),
    kubeControllerManager: join(kubeDir, 'kube-controller-manager'),
    kubeScheduler: join(schedulerDir, 'kube-scheduler'),
    kwok: join(kwokDir, 'kwok'),
  };
}

export interface BuildSpec {
  key: string;
  version: string;
  binaries: string[];
  /** Writes the wrapper module into `dir`; returns notes for the marker. */
  prepare: (dir: string, env: NodeJS.ProcessEnv) => Promise<string[]>;
  packages: string[];
  ldflags: string[];
  versionArgs: string[];
  versionText: string;
}

/** Returns the folder holding the spec's binaries, building them under a lock if needed. */
export async function ensureBuilt(
  spec: BuildSpec,
  log: (line: string) => void,
  signal?: AbortSignal,
): Promise<string> {
  const dir = await cacheDir(spec.key);
  const binDir = join(dir, 'bin');
  if (await isBuilt(dir, spec)) return binDir;
  return withLock(`build-${spec.key}`, async () => {
    // Another worker may have finished the build while this one waited for the lock.
    if (await isBuilt(dir, spec)) return binDir;
    const env = goEnv();
    const goVersion = (await commandOutput('go', ['version'], { env })).trim();
    const started = Date.now();
    const logFile = join(dir, 'build.log');
    await rm(logFile, { force: true });
    await rm(join(dir, markerName), { force: true });
    log(`building ${spec.binaries.join(', ')} ${spec.version} with ${goVersion} (first run only; 10-30 min)`);
    log(`build log: ${logFile}`);
    const moduleDir = join(dir, 'module');
    await mkdir(moduleDir, { recursive: true });
    const notes = await spec.prepare(moduleDir, env);
    await goStep(
      'go mod tidy',
      ['mod', 'tidy'],
      { cwd: moduleDir, env, logFile, signal },
      log,
      spec,
      logFile,
    );
    let compiled = 0;
    const heartbeat = setInterval(() => {
      const elapsed = Math.round((Date.now() - started) / 1000);
      log(`building ${spec.binaries.join(', ')}: ${compiled} packages compiled, ${elapsed} s`);
    }, 30_000);
    try {
      await goStep(
        'go build',
        [
          'build',
          '-v',
          '-trimpath',
          '-buildvcs=false',
          '-ldflags',
          ['-s', '-w', ...spec.ldflags].join(' '),
          '-o',
          // One package: name the file (etcd's main is the module root, which go would call
          // "server"); several: go names each after its command folder.
          spec.packages.length === 1 ? join(binDir, spec.binaries[0] as string) : `${binDir}/`,
          ...spec.packages,
        ],
        { cwd: moduleDir, env, logFile, signal, onLine: () => compiled++ },
        log,
        spec,
        logFile,
      );
    } finally {
      clearInterval(heartbeat);
    }
    for (const binary of spec.binaries) {
      const output = await commandOutput(join(binDir, binary), spec.versionArgs);
      if (!output.includes(spec.versionText)) {
        throw new GitOpsError(
          ErrorCodes.ServiceUnavailable,
          `${binary} was built but \`${binary} ${spec.versionArgs.join(' ')}\` printed "${output.trim()}", not "${spec.versionText}"; delete ${dir} and run again`,
          { details: { file: join(binDir, binary) } },
        );
      }
    }
    const seconds = Math.round((Date.now() - started) / 1000);
    const marker: Marker = {
      version: spec.version,
      goVersion,
      binaries: spec.binaries,
      seconds,
      builtAt: new Date().toISOString(),
      notes,
    };
    await writeFile(join(dir, markerName), `${JSON.stringify(marker, null, 2)}\n`);
    log(`built ${spec.binaries.join(', ')} ${spec.version} in ${seconds} s`);
    return binDir;
  });
}

async function goStep(
  what: string,
  args: string[],
  options: Parameters<typeof runLogged>[2],
  log: (line: string) => void,
  spec: BuildSpec,
  logFile: string,
): Promise<void> {
  const result = await runLogged('go', args, options);
  if (result.exitCode === 0) return;
  log(`${what} failed for ${spec.key}; last lines of ${logFile}:`);
  for (const line of result.tail.slice(-20)) log(`  ${line}`);
  throw new GitOpsError(
    ErrorCodes.ServiceUnavailable,
    `${what} of ${spec.binaries.join(', ')} ${spec.version} failed (exit ${result.exitCode}); ` +
      `if this Go is too new, retry with e.g. LIBGITOPS_GO_TOOLCHAIN=go1.23.12. Last lines of ${logFile}:\n` +
      result.tail.slice(-20).join('\n'),
    { details: { file: logFile } },
  );
}

async function isBuilt(dir: string, spec: BuildSpec): Promise<boolean> {
  try {
    const marker = JSON.parse(await readFile(join(dir, markerName), 'utf8')) as Marker;
    if (marker.version !== spec.version) return false;
    for (const binary of spec.binaries) await access(join(dir, 'bin', binary), constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Static binaries; LIBGITOPS_GO_TOOLCHAIN picks another Go release from the proxy if the local one fails. */
function goEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, CGO_ENABLED: '0' };
  if (process.env.LIBGITOPS_GO_TOOLCHAIN) env.GOTOOLCHAIN = process.env.LIBGITOPS_GO_TOOLCHAIN;
  return env;
}

async function fillTemplate(name: string, values: Record<string, string>): Promise<string> {
  const text = await readFile(join(templates, name), 'utf8');
  return text.replace(/\{\{(\w+)\}\}/g, (whole, key: string) => values[key] ?? whole);
}

async function prepareEtcd(dir: string, _env: NodeJS.ProcessEnv): Promise<string[]> {
  await writeFile(join(dir, 'go.mod'), await fillTemplate('etcd/go.mod.tmpl', { ETCD_VERSION }));
  await writeFile(join(dir, 'tools.go'), await fillTemplate('etcd/tools.go.tmpl', {}));
  return [];
}

async function prepareKube(
  dir: string,
  env: NodeJS.ProcessEnv,
  log: (line: string) => void,
  commands: string[],
): Promise<string[]> {
  const staging = await kubeStagingModules(dirname(dir), env);
  const versions = await publishedStagingVersions(staging, dirname(dir), env, log);
  const replaces = staging.map((module) => `\t${module} => ${module} ${versions.get(module)}`).join('\n');
  await writeFile(
    join(dir, 'go.mod'),
    await fillTemplate('kube/go.mod.tmpl', { KUBE_VERSION, STAGING_REPLACES: replaces }),
  );
  const imports = commands.map((command) => `\t_ "k8s.io/kubernetes/cmd/${command}"`).join('\n');
  await writeFile(join(dir, 'tools.go'), await fillTemplate('kube/tools.go.tmpl', { IMPORTS: imports }));
  const wanted = `v0.${KUBE_VERSION.slice(3)}`;
  return staging
    .filter((module) => versions.get(module) !== wanted)
    .map((module) => `${module} ${versions.get(module)} (proxy refused ${wanted})`);
}

interface DownloadResult {
  Path: string;
  Version: string;
  GoMod?: string;
  Error?: string;
}

/**
 * The published version of each staging module: v0.X.Y for kubernetes v1.X.Y. A proxy may refuse
 * some versions (a curated mirror answers 403); then the newest earlier patch of the same minor
 * that it serves is used, and said so, rather than failing the whole build.
 */
async function publishedStagingVersions(
  modules: string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
  log: (line: string) => void,
): Promise<Map<string, string>> {
  const [minor, patch] = KUBE_VERSION.split('.').slice(1).map(Number) as [number, number];
  const wanted = `v0.${minor}.${patch}`;
  const versions = new Map<string, string>();
  const missing: string[] = [];
  for (const result of await download(
    modules.map((m) => `${m}@${wanted}`),
    cwd,
    env,
  )) {
    if (result.Error) missing.push(result.Path);
    else versions.set(result.Path, wanted);
  }
  for (const module of missing) {
    for (let p = patch - 1; p >= 0 && !versions.has(module); p--) {
      const [result] = await download([`${module}@v0.${minor}.${p}`], cwd, env);
      if (result && !result.Error) versions.set(module, `v0.${minor}.${p}`);
    }
    const chosen = versions.get(module);
    if (!chosen) {
      throw new GitOpsError(
        ErrorCodes.ServiceUnavailable,
        `the Go module proxy (${env.GOPROXY ?? 'GOPROXY'}) serves no v0.${minor}.x of ${module}, needed by k8s.io/kubernetes ${KUBE_VERSION}; check GOPROXY`,
        { details: { module } },
      );
    }
    log(
      `warning: the Go module proxy refuses ${module}@${wanted}; using ${chosen}, the newest patch it serves`,
    );
  }
  return versions;
}

/** `go mod download -json` of several module@version at once; a refused one carries `Error`. */
async function download(targets: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<DownloadResult[]> {
  const result = await runJson(['mod', 'download', '-json', ...targets], cwd, env);
  // The output is a stream of JSON objects, one per target, not an array.
  return result
    .split(/\n(?=\{)/)
    .filter((chunk) => chunk.trim())
    .map((chunk) => JSON.parse(chunk) as DownloadResult);
}

/** go's stdout even when it exits non-zero: `go mod download -json` reports per-module errors there. */
async function runJson(args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<string> {
  let stdout = '';
  await runLogged('go', args, {
    cwd,
    env: { ...env, GO111MODULE: 'on', GOWORK: 'off' },
    onStdout: (chunk) => (stdout += chunk),
  });
  return stdout;
}

/** The modules k8s.io/kubernetes's own go.mod points at ./staging/src, read from that go.mod. */
export async function kubeStagingModules(cwd: string, env: NodeJS.ProcessEnv = goEnv()): Promise<string[]> {
  // Run outside any module (cwd has no go.mod), so a half-written wrapper cannot get in the way.
  const [info] = await download([`k8s.io/kubernetes@${KUBE_VERSION}`], cwd, env);
  if (!info?.GoMod) {
    throw new GitOpsError(
      ErrorCodes.ServiceUnavailable,
      `go mod download k8s.io/kubernetes@${KUBE_VERSION} failed: ${info?.Error ?? 'no go.mod'}; check GOPROXY and the network`,
    );
  }
  const goMod = await readFile(info.GoMod, 'utf8');
  const modules = [
    ...goMod.matchAll(/^\s*(?:replace\s+)?(k8s\.io\/[\w.-]+)\s*=>\s*\.\/staging\/src\//gm),
  ].map((m) => m[1] as string);
  if (modules.length === 0) {
    throw new GitOpsError(
      ErrorCodes.ServiceUnavailable,
      `no "=> ./staging/src/" replace lines found in ${info.GoMod}; the wrapper module cannot be derived`,
      { details: { file: info.GoMod } },
    );
  }
  return [...new Set(modules)].sort();
}

/** The -X flags hack/lib/version.sh sets, so `--version` and /version report the real release. */
function kubeVersionFlags(): string[] {
  const [major, minor] = KUBE_VERSION.slice(1).split('.');
  const values: Record<string, string> = {
    gitVersion: KUBE_VERSION,
    gitMajor: major ?? '',
    gitMinor: minor ?? '',
    gitTreeState: 'clean',
    buildDate: '1970-01-01T00:00:00Z',
  };
  return Object.entries(values).flatMap(([key, value]) => [
    `-X=k8s.io/component-base/version.${key}=${value}`,
    `-X=k8s.io/client-go/pkg/version.${key}=${value}`,
  ]);
}
