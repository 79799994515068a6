/**
 * Builds the Gitea binary our tests run, once per machine, from the Go module source of a pinned
 * release. `go install` cannot build Gitea (its go.mod has replace directives, which only apply to
 * the main module), so the source is copied out of the read-only module cache and built in place.
 */
import { execFile } from 'node:child_process';
import { chmod, cp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ErrorCodes, GitOpsError } from '../../../src/runtime/errors.js';
import { cacheDir, withLock } from '../cache.js';

const run = promisify(execFile);

/**
 * v1.26.0 is the newest release that builds here: v1.27.x moved its module path and several
 * dependencies to `gitea.dev`, which the Go module proxy does not serve (403).
 */
export const GITEA_VERSION = 'v1.26.0';
const GITEA_MODULE = 'code.gitea.io/gitea';
/** v1.26 picks the cgo driver mattn/go-sqlite3 with the `sqlite` tag, so cgo (gcc) is needed. */
const BUILD_TAGS = 'sqlite sqlite_unlock_notify';

export interface GiteaBuild {
  version: string;
  /** The executable. */
  binary: string;
  /** The source tree: Gitea reads templates and locale files from it (STATIC_ROOT_PATH). */
  sourceDir: string;
}

/** Written last, only once the built binary has answered `--version`. */
interface BuildMarker {
  version: string;
  reportedVersion: string;
  goVersion: string;
  buildSeconds: number;
  builtAt: string;
}

function log(message: string): void {
  process.stderr.write(`[forge] ${message}\n`);
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function readMarker(path: string): Promise<BuildMarker | undefined> {
  try {
    const marker = JSON.parse(await readFile(path, 'utf8')) as BuildMarker;
    return marker.version === GITEA_VERSION ? marker : undefined;
  } catch {
    return undefined;
  }
}

function commandFailure(what: string, err: unknown, hint: string): GitOpsError {
  const e = err as NodeJS.ErrnoException & { stderr?: string; stdout?: string };
  if (e.code === 'ENOENT') {
    return new GitOpsError(ErrorCodes.ServiceUnavailable, `cannot build the test forge: ${hint}`, {
      cause: err,
      details: { step: what },
    });
  }
  const output = `${e.stderr ?? ''}${e.stdout ?? ''}`.trim().split('\n').slice(-25).join('\n');
  return new GitOpsError(
    ErrorCodes.ServiceUnavailable,
    `cannot build the test forge: ${what} failed (${hint})${output ? `:\n${output}` : ''}`,
    { cause: err, details: { step: what } },
  );
}

/** Where the module source is, downloading it through the Go module proxy when it is not yet cached. */
async function moduleSource(): Promise<string> {
  try {
    const { stdout } = await run('go', ['mod', 'download', '-json', `${GITEA_MODULE}@${GITEA_VERSION}`], {
      // Outside any module, so no go.mod around changes what is downloaded.
      cwd: await cacheDir('locks'),
      maxBuffer: 4 * 1024 * 1024,
    });
    const info = JSON.parse(stdout) as { Dir?: string; Error?: string };
    if (!info.Dir) throw new Error(info.Error ?? 'go mod download gave no Dir');
    return info.Dir;
  } catch (err) {
    throw commandFailure(
      `go mod download ${GITEA_MODULE}@${GITEA_VERSION}`,
      err,
      'needs the Go toolchain (>= 1.26.2) on PATH and access to the Go module proxy',
    );
  }
}

/** Files in the module cache are read-only; the build tree must be writable (and removable). */
async function makeWritable(dir: string): Promise<void> {
  await chmod(dir, 0o755);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await makeWritable(path);
    else if (entry.isFile()) await chmod(path, 0o644);
  }
}

async function compile(sourceDir: string, output: string): Promise<void> {
  const started = Date.now();
  const heartbeat = setInterval(
    () => log(`still building Gitea ${GITEA_VERSION} (${Math.round((Date.now() - started) / 1000)} s)...`),
    30_000,
  );
  try {
    const ldflags = `-s -w -X main.Version=${GITEA_VERSION.slice(1)} -X 'main.Tags=${BUILD_TAGS}'`;
    await run('go', ['build', '-trimpath', '-tags', BUILD_TAGS, '-ldflags', ldflags, '-o', output, '.'], {
      cwd: sourceDir,
      env: { ...process.env, CGO_ENABLED: '1' },
      maxBuffer: 16 * 1024 * 1024,
    });
  } catch (err) {
    throw commandFailure(
      'go build',
      err,
      'needs Go >= 1.26.2, gcc for the cgo SQLite driver, and the Go module proxy for dependencies',
    );
  } finally {
    clearInterval(heartbeat);
  }
}

/**
 * The Gitea build, built on first use (several minutes on a small machine, progress on stderr)
 * and then reused from `cacheDir('gitea-<version>')`. Parallel callers wait on one build.
 */
export async function ensureGitea(): Promise<GiteaBuild> {
  const dir = await cacheDir(`gitea-${GITEA_VERSION}`);
  const build: GiteaBuild = {
    version: GITEA_VERSION,
    binary: join(dir, 'gitea'),
    sourceDir: join(dir, 'src'),
  };
  const markerPath = join(dir, 'built.json');
  if ((await readMarker(markerPath)) && (await exists(build.binary))) return build;

  return withLock(`build-gitea-${GITEA_VERSION}`, async () => {
    if ((await readMarker(markerPath)) && (await exists(build.binary))) return build;
    const started = Date.now();
    log(`building Gitea ${GITEA_VERSION} into ${dir} (first run only; several minutes)`);

    if (!(await exists(join(build.sourceDir, 'go.mod')))) {
      const source = await moduleSource();
      const staging = `${build.sourceDir}.partial`;
      await rm(staging, { recursive: true, force: true });
      await cp(source, staging, { recursive: true });
      await makeWritable(staging);
      await rename(staging, build.sourceDir);
      log(`copied the module source from ${source}`);
    }

    const fresh = join(dir, 'gitea.partial');
    await rm(fresh, { force: true });
    await compile(build.sourceDir, fresh);

    let reportedVersion: string;
    try {
      reportedVersion = (await run(fresh, ['--version'], { timeout: 30_000 })).stdout.trim();
    } catch (err) {
      throw commandFailure('running the built gitea --version', err, 'the binary was built but does not run');
    }
    await rename(fresh, build.binary);
    const goVersion = (await run('go', ['env', 'GOVERSION'])).stdout.trim();
    const buildSeconds = Math.round((Date.now() - started) / 1000);
    const marker: BuildMarker = {
      version: GITEA_VERSION,
      reportedVersion,
      goVersion,
      buildSeconds,
      builtAt: new Date().toISOString(),
    };
    await writeFile(markerPath, `${JSON.stringify(marker, null, 2)}\n`);
    log(`built ${reportedVersion} with ${goVersion} in ${buildSeconds} s`);
    return build;
  });
}
