/**
 * The transaction journal: one small file per running transaction, written before each step
 * that leaves something behind (its private folder, a pushed branch). A process
 * killed mid-transaction (even with SIGKILL) leaves its entry, and the next start reads it to
 * undo exactly what that transaction made.
 */
import { hostname } from 'node:os';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { ErrorCodes, GitOpsError, makeError } from '../runtime/index.js';

export type JournalPhase =
  /** The private folder may exist; nothing was pushed. */
  | 'open'
  /** A push of `commit` to `branch` may have reached the remote. */
  | 'pushing'
  /** `commit` is on the remote's `branch`; the pull request may not be open yet. */
  | 'pushed';

export interface JournalEntry {
  readonly id: string;
  readonly pid: number;
  readonly host: string;
  readonly startedAt: string;
  readonly target: 'branch' | 'main';
  /** The branch pushed to. */
  readonly branch: string;
  /** The transaction's private folder (its index, blobs and shape storage). */
  readonly worktree: string;
  readonly base: string;
  readonly phase: JournalPhase;
  readonly commit?: string;
}

export class TransactionJournal {
  private constructor(readonly dir: string) {}

  static async open(dir: string): Promise<TransactionJournal> {
    await mkdir(dir, { recursive: true });
    return new TransactionJournal(dir);
  }

  private fileOf(id: string): string {
    if (!/^[a-z0-9-]+$/.test(id)) {
      throw new GitOpsError(ErrorCodes.Invalid, `invalid transaction id ${JSON.stringify(id)}`);
    }
    return join(this.dir, `${id}.json`);
  }

  /** A new entry for this process. */
  entry(fields: Omit<JournalEntry, 'pid' | 'host' | 'startedAt' | 'phase'>): JournalEntry {
    return {
      ...fields,
      pid: process.pid,
      host: hostname(),
      startedAt: new Date().toISOString(),
      phase: 'open',
    };
  }

  /** Writes the entry whole (temporary file, then rename), so a reader never sees half of one. */
  async write(entry: JournalEntry): Promise<void> {
    const file = this.fileOf(entry.id);
    const temp = `${file}.${process.pid}.tmp`;
    await writeFile(temp, `${JSON.stringify(entry, null, 2)}\n`, { mode: 0o600 });
    await rename(temp, file);
  }

  async remove(id: string): Promise<void> {
    await rm(this.fileOf(id), { force: true });
  }

  /** Every entry on disk; unreadable files are reported as entries-to-drop by id. */
  async list(): Promise<{ entries: JournalEntry[]; unreadable: string[] }> {
    const entries: JournalEntry[] = [];
    const unreadable: string[] = [];
    for (const name of await readdir(this.dir).catch(() => [] as string[])) {
      if (name.endsWith('.tmp')) {
        await rm(join(this.dir, name), { force: true });
        continue;
      }
      if (!name.endsWith('.json')) continue;
      try {
        const parsed = JSON.parse(await readFile(join(this.dir, name), 'utf8')) as JournalEntry;
        if (typeof parsed.id !== 'string' || typeof parsed.worktree !== 'string')
          throw makeError.Invalid('not a journal entry');
        entries.push(parsed);
      } catch {
        unreadable.push(name.slice(0, -'.json'.length));
      }
    }
    return { entries, unreadable };
  }
}

// Ids of the transactions running in this process, whichever storage runs them: two storages
// on one clone must not take each other's running transactions for abandoned ones.
const running = new Set<string>();

/** Marks a transaction of this process as running until the returned function is called. */
export function markRunning(id: string): () => void {
  running.add(id);
  return () => running.delete(id);
}

/**
 * True when the process that wrote `entry` cannot still be running it. One machine uses a
 * clone at a time: an entry of another host is from an earlier life of this one (a restarted
 * container gets a new host name), so it is abandoned too.
 */
export function isAbandoned(entry: JournalEntry): boolean {
  if (running.has(entry.id)) return false;
  if (entry.host !== hostname()) return true;
  if (entry.pid === process.pid) return true;
  try {
    process.kill(entry.pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
