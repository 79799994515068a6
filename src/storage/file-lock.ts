/**
 * Writer locks, one per file: in this process a promise chain, across processes a lock file
 * created exclusively in the storage's hidden work folder (named by a hash of the target's
 * path, so every process finds the same one). With the lock held, a writer reads, checks the
 * resourceVersion and replaces the file, so two writers, in one process or two, can never
 * both win with the same resourceVersion.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFile, rename, stat, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCodes, GitOpsError } from '../runtime/index.js';
import { ioError } from './paths.js';
import { createInside } from './confined-io.js';

/** How long a lock file may stay without its owner's pid before it counts as a crash's leftover. */
const TORN_LOCK_GRACE_MS = 1_000;

/**
 * When process `pid` started, in clock ticks since boot (/proc/<pid>/stat, field 22), where /proc
 * tells; undefined elsewhere. Written into each lock, so a pid reused by a later process is told
 * from the writer that took the lock without comparing clocks.
 */
async function processStartTicks(pid: number): Promise<string | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The fields after the command name, which may hold spaces but ends with ')'.
    const ticks = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
    return ticks !== undefined && /^\d+$/.test(ticks) ? ticks : undefined;
  } catch {
    return undefined;
  }
}

export interface FileLockOptions {
  /** How long to wait for another writer. Default 10 s. */
  timeoutMs?: number;
  /**
   * A lock file of another host older than this is left over from a crash (on this host the
   * holder's pid is checked instead, however old its lock). Default 30 s.
   */
  staleMs?: number;
}

/** The lock file of `absPath` in `workDir`. */
export function lockPathOf(workDir: string, absPath: string): string {
  return join(workDir, `${createHash('sha256').update(absPath).digest('hex').slice(0, 32)}.lock`);
}

export class FileLocks {
  readonly #chains = new Map<string, Promise<unknown>>();
  readonly #workDir: string;
  readonly #timeoutMs: number;
  readonly #staleMs: number;

  /** `workDir` holds the lock files; it must exist. */
  constructor(workDir: string, options: FileLockOptions = {}) {
    this.#workDir = workDir;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#staleMs = options.staleMs ?? 30_000;
  }

  /** Runs `fn` holding the lock of `absPath`; `path` names it in errors. */
  async withLock<T>(absPath: string, path: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.#chains.get(absPath) ?? Promise.resolve();
    const run = previous.then(
      () => this.#locked(absPath, path, fn),
      () => this.#locked(absPath, path, fn),
    );
    const tail = run.catch(() => undefined);
    this.#chains.set(absPath, tail);
    try {
      return await run;
    } finally {
      if (this.#chains.get(absPath) === tail) this.#chains.delete(absPath);
    }
  }

  async #locked<T>(absPath: string, path: string, fn: () => Promise<T>): Promise<T> {
    const lockPath = lockPathOf(this.#workDir, absPath);
    await this.#acquire(lockPath, path);
    try {
      return await fn();
    } finally {
      await unlink(lockPath).catch(() => undefined);
    }
  }

  async #acquire(lockPath: string, path: string): Promise<void> {
    const deadline = Date.now() + this.#timeoutMs;
    let wait = 2;
    for (;;) {
      try {
        const handle = await createInside(lockPath, this.#workDir, 0o644, basename(lockPath));
        const started = (await processStartTicks(process.pid)) ?? '-';
        await handle.writeFile(`${process.pid} ${hostname()} ${Date.now()} ${started}\n`);
        await handle.close();
        return;
      } catch (err) {
        if (err instanceof GitOpsError) throw err;
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw ioError(err, 'lock', path);
      }
      if (await this.#isStale(lockPath)) {
        // Move the stale lock aside first: only one of several waiters can rename it.
        const aside = `${lockPath}.${randomBytes(4).toString('hex')}.stale`;
        if (
          await rename(lockPath, aside).then(
            () => true,
            () => false,
          )
        )
          await unlink(aside).catch(() => undefined);
        continue;
      }
      if (Date.now() >= deadline) {
        throw new GitOpsError(
          ErrorCodes.Timeout,
          `another writer has held the lock on ${JSON.stringify(path)} for more than ${this.#timeoutMs} ms; ` +
            `if no writer is running, remove ${basename(lockPath)} from ${this.#workDir}`,
          { details: { file: path } },
        );
      }
      await sleep(wait);
      wait = Math.min(wait * 2, 50);
    }
  }

  async #isStale(lockPath: string): Promise<boolean> {
    const [text, info] = await Promise.all([
      readFile(lockPath, 'utf8').catch(() => undefined),
      stat(lockPath).catch(() => undefined),
    ]);
    if (text === undefined || info === undefined) return false;
    const age = Date.now() - info.mtimeMs;
    const [pid, host, , started] = text.trim().split(' ');
    // A writer writes its pid right after creating the lock; an empty or torn lock that stays so
    // for a moment is what a writer killed between the two leaves behind.
    if (pid === undefined || !/^\d+$/.test(pid) || host === undefined) return age > TORN_LOCK_GRACE_MS;
    // Another host's writer cannot be asked whether it lives: only the age can tell.
    if (host !== hostname()) return age > this.#staleMs;
    // On this host the holder's life decides, however long its write takes.
    try {
      process.kill(Number(pid), 0);
    } catch (err) {
      // ESRCH: no such process, so its lock is a leftover of a crash. EPERM: another user's
      // process has that pid; the start time below tells whether it took the lock.
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ESRCH') return true;
      if (code !== 'EPERM') return false;
    }
    // Alive, unless that pid now belongs to another process than the one that took the lock.
    if (started === undefined || !/^\d+$/.test(started)) return false;
    const now = await processStartTicks(Number(pid));
    return now !== undefined && now !== started;
  }
}
