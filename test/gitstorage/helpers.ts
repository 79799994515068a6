/**
 * Shared pieces of the gitstorage tests: the Car sample data of examples/cars (copied into
 * each remote, never edited in place), a Scheme that knows Cars, a pull request opener that
 * records its calls, waiting for events, and plain git reads of a remote to check what was
 * pushed (made with the git command line, not with the code under test).
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { parse } from 'yaml';

import type {
  GitStorage,
  GitStorageOptions,
  PullRequestOpener,
  TransactionPullRequest,
} from '../../src/gitstorage/index.js';
import { GitStorage as GitStorageClass } from '../../src/gitstorage/index.js';
import { Scheme } from '../../src/runtime/index.js';
import type { StorageEvent } from '../../src/storage/index.js';
import { isolatedGitEnv } from '../support/git-server/index.js';

export const CARS_DIR = resolve(import.meta.dirname, '../../examples/cars');

/** The files of examples/cars, by name, read fresh. */
export function carFiles(): Record<string, string> {
  const files: Record<string, string> = {};
  for (const name of readdirSync(CARS_DIR)) {
    if (name.endsWith('.yaml')) files[name] = readFileSync(join(CARS_DIR, name), 'utf8');
  }
  return files;
}

/** A Scheme that knows the Car kind from examples/cars/car-crd.yaml. */
export function carScheme(): Scheme {
  const scheme = new Scheme();
  scheme.registerCRD(parse(readFileSync(join(CARS_DIR, 'car-crd.yaml'), 'utf8')));
  return scheme;
}

export const carKey = (name: string, namespace = 'default') => ({
  group: 'sample-app.weave.works',
  kind: 'Car',
  namespace,
  name,
});

/** A manifest of one Car, as a person would write it. */
export function carYaml(name: string, speed = 1, namespace = 'default'): string {
  return [
    'apiVersion: sample-app.weave.works/v1alpha1',
    'kind: Car',
    'metadata:',
    `  name: ${name}`,
    `  namespace: ${namespace}`,
    'spec:',
    '  brand: Volvo',
    'status:',
    `  speed: ${speed}`,
    '',
  ].join('\n');
}

/** A PullRequestOpener that records every request and answers with increasing numbers. */
export class RecordingOpener implements PullRequestOpener {
  readonly calls: TransactionPullRequest[] = [];
  failWith: Error | undefined;

  async createOrFind(request: TransactionPullRequest): Promise<{ url: string; number: number }> {
    const { signal: _signal, ...recorded } = request;
    this.calls.push(recorded);
    if (this.failWith !== undefined) throw this.failWith;
    const number = this.calls.length;
    return { url: `https://forge.example.test/pulls/${number}`, number };
  }
}

const opened: GitStorage[] = [];
const folders: string[] = [];

/** Opens a storage that is closed by closeAll(). */
export async function openStorage(options: GitStorageOptions): Promise<GitStorage> {
  const storage = await GitStorageClass.open(options);
  opened.push(storage);
  return storage;
}

export async function tempFolder(prefix = 'libgitops-gitstorage-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  folders.push(dir);
  return dir;
}

export async function closeAll(): Promise<void> {
  await Promise.all(opened.splice(0).map((s) => s.close()));
  await Promise.all(folders.splice(0).map((d) => rm(d, { recursive: true, force: true })));
}

/** Runs git against a bare repository (by path) and returns trimmed stdout. */
export function gitIn(repo: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd: repo, env: isolatedGitEnv(), encoding: 'utf8' }).trim();
}

/** The branches of a bare repository. */
export function branchesOf(repo: string): string[] {
  const out = gitIn(repo, 'for-each-ref', '--format=%(refname:short)', 'refs/heads/');
  return out === '' ? [] : out.split('\n').sort();
}

/** Collects every event of a storage; `until` waits for one that matches (a guard, not a timing check). */
export function collect(storage: GitStorage): {
  events: StorageEvent[];
  until(match: (e: StorageEvent) => boolean, what: string, waitMs?: number): Promise<StorageEvent>;
  stop(): void;
} {
  const events: StorageEvent[] = [];
  const waiters: Array<{ match: (e: StorageEvent) => boolean; resolve: (e: StorageEvent) => void }> = [];
  const stop = storage.on((event) => {
    events.push(event);
    for (const w of [...waiters]) {
      if (w.match(event)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(event);
      }
    }
  });
  return {
    events,
    stop,
    until(match, what, waitMs = 20_000) {
      const seen = events.find(match);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolvePromise, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${what} event arrived`)), waitMs);
        waiters.push({
          match,
          resolve: (e) => {
            clearTimeout(timer);
            resolvePromise(e);
          },
        });
      });
    },
  };
}
