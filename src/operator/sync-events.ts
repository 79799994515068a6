/**
 * Kubernetes Events for sync results: one core/v1 Event on the Application object per sync that
 * did something (reason `Synced`) or failed (`SyncFailed`), so `kubectl describe` and event
 * tooling show the operator's history next to the object. Recording never fails a sync.
 *
 * Repeats are aggregated as client-go's event recorder does: an Event with the same object, type,
 * reason, message and source as one this recorder made is not created again; the existing one's
 * `count` goes up and its `lastTimestamp` moves (a merge patch). When that Event is gone (Events
 * expire after an hour by default), a new one is created. So a sync message holds no duration or
 * trigger: the same revision applied again is the same Event.
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
// How many distinct Events are remembered for aggregation (client-go keeps 4096 too).
const AGGREGATION_CACHE = 4096;

interface Recorded {
  name: string;
  count: number;
}

export class SyncEventRecorder {
  readonly component: string;
  readonly instance: string;

  /** Per application, the revision an OutOfSync Event was recorded for. */
  readonly #outOfSync = new Map<string, string | undefined>();
  /** Events made, by what makes two Events the same; oldest first (a small LRU). */
  readonly #recorded = new Map<string, Recorded>();

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
        : `${record.result === 'healed' ? 'restored drift at' : 'applied'} ${revision} (${record.objects} objects)`;
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
      return await this.#createOrCount(event, signal);
    } catch (error) {
      this.options.onError?.(toGitOpsError(error));
      return undefined;
    }
  }

  async #createOrCount(event: KubeObject, signal?: AbortSignal): Promise<KubeObject> {
    const namespace = event.metadata.namespace!;
    const base = `/api/v1/namespaces/${encodeURIComponent(namespace)}/events`;
    const key = JSON.stringify([
      namespace,
      event.involvedObject,
      event.type,
      event.reason,
      event.message,
      this.component,
      this.instance,
    ]);
    const seen = this.#recorded.get(key);
    if (seen !== undefined) {
      this.#recorded.delete(key);
      try {
        const res = await this.client.rest.request<KubeObject>({
          method: 'PATCH',
          path: `${base}/${encodeURIComponent(seen.name)}`,
          body: { count: seen.count + 1, lastTimestamp: event.lastTimestamp },
          contentType: 'application/merge-patch+json',
          object: `/Event/${namespace}/${seen.name}`,
          verb: 'update of',
          signal,
        });
        this.#remember(key, { name: seen.name, count: seen.count + 1 });
        return res.body;
      } catch (error) {
        // Expired or deleted: a new Event starts the count again.
        if (toGitOpsError(error).code !== 'NotFound') throw error;
      }
    }
    const res = await this.client.rest.request<KubeObject>({
      method: 'POST',
      path: base,
      body: event,
      object: `/Event/${namespace}/${String((event.involvedObject as { name?: string }).name)}`,
      verb: 'create of',
      // A POST that may have landed is not repeated: a duplicate Event is worse than a lost one.
      retry: false,
      signal,
    });
    if (res.body.metadata.name !== undefined) this.#remember(key, { name: res.body.metadata.name, count: 1 });
    return res.body;
  }

  #remember(key: string, recorded: Recorded): void {
    this.#recorded.set(key, recorded);
    if (this.#recorded.size > AGGREGATION_CACHE) {
      const oldest = this.#recorded.keys().next().value;
      if (oldest !== undefined) this.#recorded.delete(oldest);
    }
  }
}
