/**
 * What the test process leaves behind: server processes and temporary folders. They are removed
 * by close(), by the process `exit` hook if a test failed before close(), and, for a test
 * process that was killed outright, by the sweep the next run does over stale folders.
 */
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Every temporary folder of this helper starts with this, so stale ones can be found. */
export const tempPrefix = 'libgitops-git-server-';
const ownerFile = 'owner.json';

const pids = new Set<number>();
const dirs = new Set<string>();
let hooked = false;

/** Synchronous, because `exit` handlers must be: kill hard and remove without waiting. */
function cleanUpNow(): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  pids.clear();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs.clear();
}

/**
 * Vitest stops its fork workers with SIGTERM, where no `exit` handler runs: clean up, then let
 * the signal do what it would have done (unless someone else handles it).
 */
function onSignal(signal: NodeJS.Signals): void {
  cleanUpNow();
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

function hook(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', cleanUpNow);
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.once(signal, onSignal);
}

export function killAtExit(pid: number): void {
  hook();
  pids.add(pid);
}

export function releaseAtExit(pid: number): void {
  pids.delete(pid);
}

export function removeAtExit(dir: string): void {
  hook();
  dirs.add(dir);
}

export function forgetDir(dir: string): void {
  dirs.delete(dir);
}

interface Owner {
  pid: number;
  children: number[];
}

/** A new private temporary folder, removed at exit, that records its owner for the sweep. */
export async function ownedTempDir(): Promise<string> {
  sweepStale();
  const dir = await mkdtemp(join(tmpdir(), tempPrefix));
  writeOwner(dir, { pid: process.pid, children: [] });
  removeAtExit(dir);
  return dir;
}

/** Records a server process started for `dir`, so a later sweep can end it if we die. */
export function recordChild(dir: string, pid: number): void {
  const owner = readOwner(dir) ?? { pid: process.pid, children: [] };
  owner.children = [...new Set([...owner.children, pid])];
  writeOwner(dir, owner);
}

function writeOwner(dir: string, owner: Owner): void {
  writeFileSync(join(dir, ownerFile), JSON.stringify(owner));
}

function readOwner(dir: string): Owner | undefined {
  try {
    const parsed = JSON.parse(readFileSync(join(dir, ownerFile), 'utf8')) as Partial<Owner>;
    if (typeof parsed.pid !== 'number' || !Array.isArray(parsed.children)) return undefined;
    return { pid: parsed.pid, children: parsed.children.filter((p): p is number => Number.isInteger(p)) };
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function commandLineOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

/**
 * Ends the servers and removes the folders of test processes that died without cleaning up.
 * A pid is killed only if its command line still names that folder, so a reused pid is safe.
 */
export function sweepStale(): void {
  let entries: string[];
  try {
    entries = readdirSync(tmpdir()).filter((name) => name.startsWith(tempPrefix));
  } catch {
    return;
  }
  for (const name of entries) {
    const dir = join(tmpdir(), name);
    const owner = readOwner(dir);
    if (!owner || alive(owner.pid)) continue;
    for (const pid of owner.children) {
      if (commandLineOf(pid).includes(dir)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
    }
    rmSync(dir, { recursive: true, force: true });
  }
}
