/**
 * Where the test servers' binaries are built and kept between runs, and a lock so that
 * parallel test workers (or two test runs) never build the same thing twice at once.
 */
import { mkdir, open, readFile, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** `$LIBGITOPS_TEST_CACHE`, else `$XDG_CACHE_HOME/libgitops-test`, else `~/.cache/libgitops-test`. */
export function cacheRoot(): string {
  if (process.env.LIBGITOPS_TEST_CACHE) return process.env.LIBGITOPS_TEST_CACHE;
  const base = process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache');
  return join(base, 'libgitops-test');
}

/** A folder of the cache, keyed by what is built and its version, e.g. `kube-apiserver-v1.32.13`. */
export async function cacheDir(key: string): Promise<string> {
  const dir = join(cacheRoot(), key);
  await mkdir(dir, { recursive: true });
  return dir;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs `fn` holding an exclusive lock named `name` across processes. A lock left by a dead
 * process is taken over. Waits up to `timeoutMs` (builds can take many minutes).
 */
export async function withLock<T>(name: string, fn: () => Promise<T>, timeoutMs = 60 * 60_000): Promise<T> {
  const dir = await cacheDir('locks');
  const path = join(dir, `${name}.lock`);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const handle = await open(path, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number((await readFile(path, 'utf8').catch(() => '')).trim());
      const age = await stat(path).then(
        (s) => Date.now() - s.mtimeMs,
        () => 0,
      );
      if ((owner > 0 && !alive(owner)) || (!owner && age > 10_000)) {
        await rm(path, { force: true });
        continue;
      }
      if (Date.now() > deadline) {
        throw new Error(`timed out waiting for lock ${path} held by pid ${owner}`, { cause: err });
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  try {
    return await fn();
  } finally {
    await rm(path, { force: true });
  }
}

/** A free TCP port on 127.0.0.1 (the kernel picks it; a tiny race remains, as everywhere). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

/** Polls `check` until it resolves true, or throws after `timeoutMs` with `what` in the message. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 60_000,
  everyMs = 100,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  const why = lastError instanceof Error ? `: ${lastError.message}` : '';
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`);
}
