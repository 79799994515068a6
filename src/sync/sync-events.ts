/**
 * Kubernetes Events for sync results: one core/v1 Event on the Application object per sync that
 * did something (reason `Synced`) or failed (`SyncFailed`), so `kubectl describe` and event
 * tooling show the operator's history next to the object. Recording never fails a sync.
 */
import { hostname } from 'node:os';

import type { KubeClient } from '../kube/index.js';
import { toGitOpsError } from '../runtime/index.js';
import type { GitOpsError, KubeObject } from '../runtime/index.js';
import type { Application } from './application.js';
import type { SyncRecord } from './reconciler.js';

export interface SyncEventRecorderOptions {
  /** `source.component` and `reportingComponent`; `libgitops-operator` by default. */
  component?: string;
  /** This replica; the host name by default. */
  instance?: string;
  onError?: (error: GitOpsError) => void;
}

// An Event message longer than this is cut (the API server refuses more than 1 KiB in events.k8s.io).
const MESSAGE_LIMIT = 1000;

export class SyncEventRecorder {
  readonly component: string;
  readonly instance: string;

  /** Per application, the revision an OutOfSync Event was recorded for. */
  readonly #outOfSync = new Map<string, string | undefined>();

  constructor(
    private readonly client: KubeClient,
    private readonly options: SyncEventRecorderOptions = {},
  ) {
    this.component = options.component ?? 'libgitops-operator';
    this.instance = options.instance ?? hostname();
  }

  /** The Event a sync record stands for, or undefined when it changed nothing worth telling. */
  eventFor(app: Application, record: SyncRecord, now = new Date()): KubeObject | undefined {
    if (
      record.result !== 'synced' &&
      record.result !== 'healed' &&
      record.result !== 'failed' &&
      record.result !== 'drifted'
    )
      return undefined;
    const failed = record.result === 'failed';
    const drifted = record.result === 'drifted';
    const revision =
      record.revision === undefined ? 'an unknown revision' : `revision ${record.revision.slice(0, 12)}`;
    const base = failed
      ? `sync of ${revision} failed: ${record.error?.message ?? 'unknown error'}`
      : drifted
        ? `objects on the cluster were changed and differ from ${revision}; self-heal is off, so they are left as they are`
        : `${record.result === 'healed' ? 'restored drift at' : 'applied'} ${revision} (${record.objects} objects, ${Math.round(record.durationMs)} ms, trigger ${record.reason})`;
    const message =
      record.hooks === undefined || record.hooks.length === 0
        ? base
        : `${base}; hooks: ${record.hooks.join(', ')}`;
    const time = now.toISOString();
    return {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { generateName: `${app.metadata.name}.`, namespace: app.metadata.namespace },
      involvedObject: {
        apiVersion: app.apiVersion,
        kind: app.kind,
        name: app.metadata.name,
        namespace: app.metadata.namespace,
        ...(app.metadata.uid === undefined ? {} : { uid: app.metadata.uid }),
      },
      type: failed || drifted ? 'Warning' : 'Normal',
      reason: failed ? 'SyncFailed' : drifted ? 'OutOfSync' : 'Synced',
      message: message.length > MESSAGE_LIMIT ? `${message.slice(0, MESSAGE_LIMIT - 3)}...` : message,
      source: { component: this.component },
      reportingComponent: this.component,
      reportingInstance: this.instance,
      firstTimestamp: time,
      lastTimestamp: time,
      count: 1,
    };
  }

  /** Creates the Event of a sync record; resolves with it (undefined when none was due or it failed). */
  async record(app: Application, record: SyncRecord, signal?: AbortSignal): Promise<KubeObject | undefined> {
    // Drift left in place is told once per revision, not at every check that finds it still there.
    const key = `${app.metadata.namespace}/${app.metadata.name}`;
    if (record.result === 'drifted') {
      if (this.#outOfSync.get(key) === record.revision) return undefined;
      this.#outOfSync.set(key, record.revision);
    } else if (record.result !== 'waiting') this.#outOfSync.delete(key);
    const event = this.eventFor(app, record);
    if (event === undefined) return undefined;
    try {
      const res = await this.client.rest.request<KubeObject>({
        method: 'POST',
        path: `/api/v1/namespaces/${encodeURIComponent(app.metadata.namespace)}/events`,
        body: event,
        object: `/Event/${app.metadata.namespace}/${app.metadata.name}`,
        verb: 'create of',
        // A POST that may have landed is not repeated: a duplicate Event is worse than a lost one.
        retry: false,
        signal,
      });
      return res.body;
    } catch (error) {
      this.options.onError?.(toGitOpsError(error));
      return undefined;
    }
  }
}
