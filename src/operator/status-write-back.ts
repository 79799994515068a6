/**
 * Status written back to Git, when an Application asks for it (`spec.statusWriteBack`): after a
 * sync that did something, the Application's status goes into an Application object in the
 * repository through a GitStorage transaction (the library's own lossless write path), so only
 * the status lines of that file change. The branch must not be the one the application follows,
 * or each status commit would be a new revision to sync, and so on forever.
 */
import type { Credentials } from '../git/index.js';
import { GitStorage } from '../gitstorage/index.js';
import type { TransactionOutcome } from '../gitstorage/index.js';
import { ErrorCodes, GitOpsError, toGitOpsError } from '../runtime/index.js';
import type { KubeObject } from '../runtime/index.js';
import {
  APPLICATION_API_VERSION,
  APPLICATION_GROUP,
  APPLICATION_KIND,
  applicationKey,
  applicationScheme,
} from './application.js';
import type { Application, ApplicationStatus } from './application.js';

/**
 * The status as written to Git: what a reader of the repository needs, not every object's
 * result, and no sync times (the commit has one), so a sync that changes nothing commits nothing.
 */
export interface WrittenStatus {
  phase: ApplicationStatus['phase'];
  health: ApplicationStatus['health'];
  lastSyncedRevision?: string;
  lastAttemptedRevision?: string;
  lastError?: { code: string; message: string };
  /** Objects by health, e.g. `{ Healthy: 12, Progressing: 1 }`. */
  objects: Record<string, number>;
}

export function writtenStatus(status: ApplicationStatus): WrittenStatus {
  const objects: Record<string, number> = {};
  for (const o of status.objects ?? []) {
    if (o.health !== undefined) objects[o.health] = (objects[o.health] ?? 0) + 1;
  }
  return {
    phase: status.phase,
    health: status.health,
    ...(status.lastSyncedRevision === undefined ? {} : { lastSyncedRevision: status.lastSyncedRevision }),
    ...(status.lastAttemptedRevision === undefined
      ? {}
      : { lastAttemptedRevision: status.lastAttemptedRevision }),
    ...(status.lastError === undefined
      ? {}
      : { lastError: { code: status.lastError.code, message: status.lastError.message } }),
    objects,
  };
}

export interface StatusWriteBackOptions {
  /** Credentials for the application's repository (the same as for reading it). */
  credentialsFor?: (app: Application) => Promise<Credentials | undefined>;
}

interface Store {
  storage: Promise<GitStorage>;
  /** Writes of this store, one after the other. */
  queue: Promise<unknown>;
}

/** Writes statuses back; one GitStorage per repository, branch and folder, opened on first use. */
export class StatusWriteBack {
  private readonly stores = new Map<string, Store>();

  constructor(private readonly options: StatusWriteBackOptions = {}) {}

  /**
   * Writes the app's status to `<path>/` on the write-back branch: updates the status of the
   * Application object there (found by name and namespace), or creates it. Resolves with the
   * transaction's outcome (`commit` undefined when nothing changed).
   */
  write(app: Application, status: ApplicationStatus): Promise<TransactionOutcome> {
    const target = app.spec.statusWriteBack;
    if (target === undefined) {
      return Promise.reject(
        new GitOpsError(
          ErrorCodes.Invalid,
          `application ${applicationKey(app)} asks for no status write-back`,
          {
            details: { field: '.spec.statusWriteBack', object: applicationKey(app) },
          },
        ),
      );
    }
    const branch = target.branch;
    const key = JSON.stringify([app.spec.source.repoURL, branch, target.path]);
    let store = this.stores.get(key);
    if (store === undefined) {
      const storage = this.open(app, branch, target.path);
      // A failed open is tried again by the next write.
      storage.catch(() => this.stores.delete(key));
      store = { storage, queue: Promise.resolve() };
      this.stores.set(key, store);
    }
    const written = writtenStatus(status);
    const run = store.queue.then(async () => {
      const storage = await store.storage;
      return storage.transaction({ target: 'main' }, async (tx) => {
        const ref = { apiVersion: APPLICATION_API_VERSION, kind: APPLICATION_KIND };
        const id = {
          group: APPLICATION_GROUP,
          kind: APPLICATION_KIND,
          namespace: app.metadata.namespace,
          name: app.metadata.name,
        };
        let current = await tx.get(id).catch((error: unknown) => {
          if (error instanceof GitOpsError && error.code === ErrorCodes.NotFound) return undefined;
          throw error;
        });
        if (current === undefined) {
          const fresh: KubeObject = {
            ...ref,
            metadata: { name: app.metadata.name, namespace: app.metadata.namespace },
            spec: app.spec as unknown as Record<string, unknown>,
          };
          current = await tx.create(fresh);
        }
        await tx.updateStatus({ ...current, status: written as unknown as Record<string, unknown> });
        return {
          title: `status: ${applicationKey(app)} ${written.phase}, ${written.health}`,
          description: `Revision ${written.lastAttemptedRevision ?? '(none)'}, written by the libgitops operator.`,
        };
      });
    });
    store.queue = run.catch(() => undefined);
    return run.catch((error: unknown) => {
      throw toGitOpsError(error, ErrorCodes.GitError);
    });
  }

  async close(): Promise<void> {
    const stores = [...this.stores.values()];
    this.stores.clear();
    await Promise.all(
      stores.map(async (s) => {
        await s.queue;
        const storage = await s.storage.catch(() => undefined);
        await storage?.close();
      }),
    );
  }

  private async open(app: Application, branch: string, path: string): Promise<GitStorage> {
    const credentials = await this.options.credentialsFor?.(app);
    return GitStorage.open({
      directory: {
        url: app.spec.source.repoURL,
        branch,
        interval: 0,
        ...(credentials === undefined ? {} : { credentials }),
      },
      ...(path === '.' || path === '' ? {} : { subdirectory: path }),
      scheme: applicationScheme(),
      writable: { stampMetadata: false, statusSubresource: true },
    });
  }
}
