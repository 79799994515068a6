/**
 * Shared pieces of the storage tests: temporary folders, the Car scheme of the Go library's
 * samples (from examples/cars), Car objects, and waiting for events with a deadline.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import jsYaml from 'js-yaml';

import { GitOpsError, Scheme } from '../../src/runtime/index.js';
import type { KubeObject, ObjectKey } from '../../src/runtime/index.js';
import type { ObjectStorage, StorageEvent } from '../../src/storage/index.js';

export const CARS_DIR = resolve(import.meta.dirname, '../../examples/cars');
export const CAR_GROUP = 'sample-app.weave.works';

const made: string[] = [];

export function tempDir(prefix = 'libgitops-storage-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** A temporary copy of examples/cars (foo.yaml, fleet.yaml, car-crd.yaml). */
export function carsCopy(): string {
  const dir = tempDir();
  cpSync(CARS_DIR, dir, { recursive: true });
  return dir;
}

export function carScheme(): Scheme {
  const scheme = new Scheme();
  scheme.registerCRD(jsYaml.load(readFileSync(join(CARS_DIR, 'car-crd.yaml'), 'utf8')));
  return scheme;
}

export interface CarStatus {
  acceleration?: number;
  /** A bigint when beyond 2^53 (the seed Car's 12176941420362965433). */
  distance?: number | bigint;
  persons?: number;
  speed?: number;
}

export type Car = KubeObject<{ brand?: string; engine?: string; yearModel?: string }, CarStatus>;

export function car(name: string, namespace = 'default', spec: Car['spec'] = { brand: 'Volvo' }): Car {
  return { apiVersion: `${CAR_GROUP}/v1alpha1`, kind: 'Car', metadata: { name, namespace }, spec };
}

export function carKey(name: string, namespace = 'default'): ObjectKey {
  return { group: CAR_GROUP, kind: 'Car', namespace, name };
}

/** The lines of `after` that differ from `before` (a line diff, good enough for small edits). */
export function changedLines(before: string, after: string): { removed: string[]; added: string[] } {
  const a = before.split('\n');
  const b = after.split('\n');
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start += 1;
  let endA = a.length - 1;
  let endB = b.length - 1;
  while (endA >= start && endB >= start && a[endA] === b[endB]) {
    endA -= 1;
    endB -= 1;
  }
  return { removed: a.slice(start, endA + 1), added: b.slice(start, endB + 1) };
}

/** Collects a storage's events for later checks. */
export class EventLog {
  readonly events: StorageEvent[] = [];
  readonly #stop: () => void;

  constructor(storage: ObjectStorage) {
    this.#stop = storage.on((event) => this.events.push(event));
  }

  stop(): void {
    this.#stop();
  }

  clear(): void {
    this.events.length = 0;
  }

  /** `TYPE name` per object event, `ERROR path` per error. */
  summary(): string[] {
    return this.events.map((e) => (e.type === 'ERROR' ? `ERROR ${e.path ?? ''}` : `${e.type} ${e.key.name}`));
  }

  /** Waits until `predicate` holds, or fails the test naming what was awaited. */
  async waitFor(
    what: string,
    predicate: (events: StorageEvent[]) => boolean,
    timeoutMs = 10_000,
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.events)) {
      if (Date.now() > deadline) {
        throw new Error(
          `timed out after ${timeoutMs} ms waiting for ${what}; events so far: ${this.summary().join(', ')}`,
        );
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

/** Resolves after `ms`: to let a watcher see (and, in negative checks, not report) a change. */
export function pause(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** The code of the GitOpsError a promise rejects with; fails when it resolves or throws something else. */
export async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (!(error instanceof GitOpsError)) throw error;
    return error.code;
  }
  throw new Error('expected a GitOpsError, but the call succeeded');
}

export async function errorOf(promise: Promise<unknown>): Promise<GitOpsError> {
  try {
    await promise;
  } catch (error) {
    if (!(error instanceof GitOpsError)) throw error;
    return error;
  }
  throw new Error('expected a GitOpsError, but the call succeeded');
}

/** Runs git in `cwd` with a clean environment. */
export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: '/dev/null',
      LC_ALL: 'C',
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_AUTHOR_NAME: 'Test',
      GIT_AUTHOR_EMAIL: 'test@example.test',
      GIT_COMMITTER_NAME: 'Test',
      GIT_COMMITTER_EMAIL: 'test@example.test',
    },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  }).trim();
}
