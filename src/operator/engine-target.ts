/**
 * The operator's handle on one destination cluster, on the library's own apply engine (no
 * kubectl): its client, its `SyncEngine` (which the reconciler calls itself to apply), the
 * engine's request for an application's objects and policy, the revision last applied (kept as
 * annotations on the inventory ConfigMap, under a field manager of its own so the engine's
 * writes of that ConfigMap never remove them), and the reads a reconciler makes there: drift
 * (a server dry-run), diff, health and a drift watch. On its own it is also the `Destinations`
 * of an operator with a single cluster and no tenancy rules.
 */
import { createHash } from 'node:crypto';

import { KubeClient } from '../kube/index.js';
import type { KubeClientOptions } from '../kube/index.js';
import {
  ErrorCodes,
  GitOpsError,
  keyOf,
  objectKeyToString,
  parseApiVersion,
  parseObjectKey,
} from '../runtime/index.js';
import type { HelmCapabilities } from '../helm/index.js';
import type { KubeObject } from '../runtime/index.js';
import type { Application, ObjectSyncResult } from './application.js';
import { DriftWatcher } from '../sync/index.js';
import type { DriftEvent } from '../sync/index.js';
import { SyncEngine, syncOptionsOf } from '../sync/index.js';
import type { SyncEngineOptions } from '../sync/index.js';
import { assessHealth } from '../sync/index.js';
import type { HealthStatus } from '../sync/index.js';
import { Inventory } from '../sync/index.js';
import { APPLICATION_LABEL, MARK_PREFIX } from '../sync/index.js';
import type { ObjectResult, SyncRequest, SyncResult, WaveProgress } from '../sync/index.js';
import { worstHealth } from './destination.js';
import type {
  AppliedRevision,
  DestinationLease,
  Destinations,
  ObjectDiff,
  SyncOutcome,
} from './destination.js';

export const REVISION_ANNOTATION = `${MARK_PREFIX}revision`;
export const REVISION_COMPLETE_ANNOTATION = `${MARK_PREFIX}revision-complete`;
/** Field manager of the revision annotations (not the engine's, whose applies would drop them). */
export const REVISION_FIELD_MANAGER = 'libgitops-operator';

export interface EngineTargetOptions extends SyncEngineOptions {
  /** A ready client; otherwise one is made from kubeconfig/context (or in-cluster). */
  client?: KubeClient;
  kubeconfig?: string;
  context?: string;
  clientOptions?: KubeClientOptions;
  /**
   * Where an application's inventory (and applied revision) is kept on this cluster: the
   * application's own namespace by default; a remote destination uses its target namespace,
   * since the application's namespace need not exist there.
   */
  inventoryNamespaceOf?: (app: Application) => string;
}

export class EngineTarget implements Destinations {
  readonly client: KubeClient;
  readonly engine: SyncEngine;
  readonly #ownsClient: boolean;
  readonly #inventoryNamespaceOf: (app: Application) => string;

  constructor(options: EngineTargetOptions = {}) {
    this.#ownsClient = options.client === undefined;
    this.client =
      options.client ??
      KubeClient.fromKubeconfig(
        {
          ...(options.kubeconfig === undefined ? {} : { kubeconfigPath: options.kubeconfig }),
          ...(options.context === undefined ? {} : { context: options.context }),
        },
        options.clientOptions,
      );
    this.engine = new SyncEngine(this.client, options);
    this.#inventoryNamespaceOf = options.inventoryNamespaceOf ?? ((app) => app.metadata.namespace);
  }

  #capabilities: { at: number; value: Promise<HelmCapabilities> } | undefined;

  /** Version and API versions of this cluster, read again after a minute (CRDs come and go). */
  capabilities(_app?: Application, signal?: AbortSignal): Promise<HelmCapabilities> {
    const now = Date.now();
    if (this.#capabilities === undefined || now - this.#capabilities.at > 60_000) {
      const value = (async () => {
        this.client.mapper.invalidate();
        const [kubeVersion, apiVersions] = await Promise.all([
          this.client.serverVersion(signal),
          this.client.mapper.apiVersions(signal),
        ]);
        return { kubeVersion, apiVersions };
      })();
      value.catch(() => (this.#capabilities = undefined));
      this.#capabilities = { at: now, value };
    }
    return this.#capabilities.value;
  }

  /** Closes the client's connections when this target made it. */
  close(): void {
    if (this.#ownsClient) this.client.close();
  }

  /** This cluster as the destination of every application, with no tenancy rules. */
  acquire(): Promise<DestinationLease> {
    return Promise.resolve({
      destination: this,
      admit: (_app, objects) => Promise.resolve({ allowed: objects, refused: [] }),
      release: () => undefined,
    });
  }

  /** The engine's request for `objects` of `app`: the policy's sync options, names and namespaces. */
  syncRequest(
    app: Application,
    objects: readonly KubeObject[],
    run: { dryRun: boolean; signal?: AbortSignal; onWave?: (wave: WaveProgress) => void },
  ): SyncRequest {
    return {
      ...syncOptionsOf(app.spec.policy),
      dryRun: run.dryRun,
      application: engineApplicationName(app),
      objects,
      defaultNamespace: app.spec.destination.namespace,
      inventoryNamespace: this.#inventoryNamespaceOf(app),
      ...(run.onWave === undefined ? {} : { onWave: run.onWave }),
      ...(run.signal === undefined ? {} : { signal: run.signal }),
    };
  }

  /**
   * Marks `revision` as being applied (complete=false) before a sync; a restart in between then
   * applies it again. The inventory's namespace may be one this very sync creates (a new
   * namespace on a remote destination): the mark then waits for the sync's own inventory write.
   */
  async beginRevision(
    app: Application,
    revision: string,
    objects: readonly KubeObject[],
    signal?: AbortSignal,
  ): Promise<void> {
    try {
      await this.#mark(app, revision, false, signal);
    } catch (err) {
      const namespace = this.#inventoryNamespaceOf(app);
      if (!(err instanceof GitOpsError) || err.code !== ErrorCodes.NotFound) throw err;
      const created = objects.some(
        (o) => o.kind === 'Namespace' && o.apiVersion === 'v1' && o.metadata?.name === namespace,
      );
      if (created) return;
      throw new GitOpsError(
        ErrorCodes.NotFound,
        `namespace ${namespace} (where the application's inventory is kept) does not exist on the ` +
          'destination cluster: create it, or add its Namespace object to the source',
        { cause: err, details: { namespace } },
      );
    }
  }

  /** Marks `revision` as fully applied, after a sync without errors. */
  completeRevision(app: Application, revision: string, signal?: AbortSignal): Promise<void> {
    return this.#mark(app, revision, true, signal);
  }

  async drifted(app: Application, objects: readonly KubeObject[], signal?: AbortSignal): Promise<boolean> {
    const result = await this.#dryRun(app, objects, signal);
    const error = failureOf(result);
    if (error !== undefined) throw error;
    return result.objects.some((o) => o.action === 'created' || o.action === 'configured' || o.drifted);
  }

  async diff(app: Application, objects: readonly KubeObject[], signal?: AbortSignal): Promise<ObjectDiff[]> {
    const result = await this.#dryRun(app, objects, signal);
    const error = failureOf(result);
    if (error !== undefined) throw error;
    const diffs: ObjectDiff[] = [];
    for (const o of result.objects) {
      if (o.action !== 'created' && o.action !== 'configured' && o.action !== 'pruned') continue;
      const action = o.action === 'pruned' ? 'prune' : o.action === 'created' ? 'create' : 'change';
      diffs.push({ object: o.id ?? '(unnamed)', action, changes: o.changes ?? [] });
    }
    return diffs;
  }

  async health(app: Application, signal?: AbortSignal): Promise<HealthStatus> {
    const application = engineApplicationName(app);
    const entries = await new Inventory(this.client, application, this.#inventoryNamespaceOf(app)).read(
      signal,
    );
    const byType = new Map<string, { apiVersion: string; kind: string; ids: string[] }>();
    for (const entry of entries.values()) {
      const kind = parseObjectKey(entry.id).kind;
      const type = `${entry.apiVersion}/${kind}`;
      const known = byType.get(type) ?? { apiVersion: entry.apiVersion, kind, ids: [] };
      known.ids.push(entry.id);
      byType.set(type, known);
    }
    // Page by page, with only each object's health kept: 10,000 objects are never all in memory.
    const statuses = new Map<string, HealthStatus>();
    await Promise.all(
      [...byType.values()].map(async ({ apiVersion, kind, ids }) => {
        const wanted = new Set(ids);
        await this.client.list(
          { ...parseApiVersion(apiVersion), kind },
          {
            labelSelector: `${APPLICATION_LABEL}=${application}`,
            signal,
            onPage: (items) => {
              for (const o of items) {
                const id = objectKeyToString(keyOf(o));
                if (wanted.has(id)) statuses.set(id, assessHealth(o).status);
              }
            },
          },
        );
        for (const id of ids) if (!statuses.has(id)) statuses.set(id, assessHealth(undefined).status);
      }),
    );
    return worstHealth(statuses.values());
  }

  async appliedRevision(app: Application, signal?: AbortSignal): Promise<AppliedRevision | undefined> {
    const configMap = await this.client.get(this.#inventoryRef(app), signal);
    const annotations = configMap?.metadata?.annotations ?? {};
    const revision = annotations[REVISION_ANNOTATION];
    if (revision === undefined || revision === '') return undefined;
    return { revision, complete: annotations[REVISION_COMPLETE_ANNOTATION] === 'true' };
  }

  async watchDrift(
    app: Application,
    objects: readonly KubeObject[],
    onDrift: (event: DriftEvent) => void,
    signal?: AbortSignal,
  ): Promise<() => Promise<void>> {
    const application = engineApplicationName(app);
    // The sync that just ran planned these very objects: reuse that plan rather than hold two.
    const plan =
      this.engine.lastPlan(application, objects) ??
      (await this.engine.plan({
        application,
        objects,
        defaultNamespace: app.spec.destination.namespace,
        signal,
      }));
    // Report only: healing goes through the reconciler, so it is one sync among the others.
    const watcher = new DriftWatcher(this.engine, application, {
      plan,
      onDrift,
      ...(signal === undefined ? {} : { signal }),
    });
    await watcher.start();
    return () => watcher.stop();
  }

  #inventoryRef(app: Application): { apiVersion: string; kind: string; namespace: string; name: string } {
    const inventory = new Inventory(this.client, engineApplicationName(app), this.#inventoryNamespaceOf(app));
    return { apiVersion: 'v1', kind: 'ConfigMap', namespace: inventory.namespace, name: inventory.name };
  }

  #dryRun(app: Application, objects: readonly KubeObject[], signal?: AbortSignal): Promise<SyncResult> {
    return this.engine.sync(
      this.syncRequest(app, objects, { dryRun: true, ...(signal === undefined ? {} : { signal }) }),
    );
  }

  // Written before a sync (complete=false) and after it (true): a restart in between re-applies.
  async #mark(app: Application, revision: string, complete: boolean, signal?: AbortSignal): Promise<void> {
    const ref = this.#inventoryRef(app);
    await this.client.apply(
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: {
          name: ref.name,
          namespace: ref.namespace,
          annotations: { [REVISION_ANNOTATION]: revision, [REVISION_COMPLETE_ANNOTATION]: String(complete) },
        },
      },
      { fieldManager: REVISION_FIELD_MANAGER, signal },
    );
  }
}

/**
 * The engine's name for an application (a label value): `<namespace>.<name>`, unique because a
 * namespace has no dots; a hash stands in for the tail when that is longer than 63 characters.
 */
export function engineApplicationName(app: Pick<Application, 'metadata'>): string {
  const full = `${app.metadata.namespace}.${app.metadata.name}`;
  if (full.length <= 63) return full;
  const hash = createHash('sha256').update(full).digest('hex').slice(0, 10);
  return `${full.slice(0, 52).replace(/[-.]+$/, '')}-${hash}`;
}

/** A sync's result as the reconciler reports it: each object's line, the health, the first error. */
export function syncOutcomeOf(result: SyncResult): SyncOutcome {
  const error = failureOf(result);
  return {
    objects: result.objects.map((o) => toObjectSyncResult(o, result.dryRun)),
    health: healthOf(result),
    ...(error === undefined ? {} : { error }),
    result,
  };
}

function toObjectSyncResult(o: ObjectResult, dryRun: boolean): ObjectSyncResult {
  const action: ObjectSyncResult['action'] =
    o.action === 'created' || o.action === 'configured'
      ? dryRun
        ? 'would-apply'
        : 'applied'
      : o.action === 'pruned'
        ? dryRun
          ? 'would-prune'
          : 'pruned'
        : o.action;
  const detail = o.error?.message ?? o.message;
  const hook =
    o.hook === undefined
      ? undefined
      : `${o.hook.phase} hook ${o.hook.outcome}${o.hook.deleted ? ' (deleted)' : ''}`;
  const message = hook === undefined ? detail : detail === undefined ? hook : `${hook}: ${detail}`;
  return {
    object: o.id ?? '(unnamed)',
    action,
    ...(o.action === 'pruned' ? {} : { health: o.health.status }),
    ...(message === undefined ? {} : { message }),
  };
}

function healthOf(result: SyncResult): HealthStatus {
  return worstHealth(result.objects.filter((o) => o.action !== 'pruned').map((o) => o.health.status));
}

/** The error a sync with problems reports: the sync's own first, else a summary of failed objects. */
function failureOf(result: SyncResult): GitOpsError | undefined {
  if (result.errors.length > 0) return result.errors[0];
  const failed = result.objects.filter((o) => o.action === 'failed');
  if (failed.length === 0) return undefined;
  const first = failed[0]!;
  const code = first.error?.code ?? ErrorCodes.InternalError;
  return new GitOpsError(
    code,
    `${failed.length} of ${result.objects.length} object(s) failed; ${first.id ?? '(unnamed)'}: ` +
      (first.error?.message ?? first.message ?? 'failed'),
    { ...(first.error === undefined ? {} : { cause: first.error }), details: { object: first.id ?? '' } },
  );
}
