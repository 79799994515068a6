/**
 * What a reconciler needs from a cluster: apply an application's objects at a revision, say
 * whether they drifted, show a diff, tell how healthy they are, and remember which revision was
 * fully applied (so a restarted operator does not apply it again without need).
 */
import { stringifyJson } from '../runtime/index.js';
import type { HelmCapabilities } from '../helm/index.js';
import type { GitOpsError, KubeObject } from '../runtime/index.js';
import type { Application, ObjectSyncResult } from './application.js';
import type { DriftEvent } from '../sync/index.js';
import type { FieldChange } from '../sync/index.js';
import type { HealthStatus } from '../sync/index.js';
import type { SyncResult } from '../sync/index.js';

export interface TargetSyncRequest {
  app: Application;
  revision: string;
  objects: readonly KubeObject[];
  /** The operator's dry-run mode; the other sync options come from the Application's policy. */
  dryRun: boolean;
  signal?: AbortSignal;
  /** Called as each wave with objects starts to apply, from the sync's own plan. */
  onWave?: (wave: { index: number; total: number; objects: number }) => void;
}

export interface SyncOutcome {
  objects: ObjectSyncResult[];
  /** The application's health from the sync's own reading of its objects. */
  health: HealthStatus;
  /** Set when an object failed or the sync stopped early; the objects still say what happened. */
  error?: GitOpsError;
  /** The engine's full result, for callers that want every detail. */
  result?: SyncResult;
}

/** The revision last applied to the cluster, and whether that sync finished. */
export interface AppliedRevision {
  revision?: string;
  /** False while a sync is under way (or was cut short). */
  complete: boolean;
}

/** One object a sync would change, and how. */
export interface ObjectDiff {
  /** ObjectKey string form: `group/Kind/namespace/name`. */
  object: string;
  action: 'create' | 'change' | 'prune';
  changes: FieldChange[];
}

/** The diff as text: `create|change|prune <object>`, then `+ - ~` lines ('' when in sync). */
export function formatObjectDiffs(diffs: readonly ObjectDiff[]): string {
  const blocks = diffs.map((d) => {
    const lines = [`${d.action} ${d.object}`];
    for (const c of d.changes) {
      const path = c.path === '' ? '(object)' : c.path;
      if (c.change === 'added') lines.push(`  + ${path}: ${stringifyJson(c.desired)}`);
      else if (c.change === 'removed') lines.push(`  - ${path}: ${stringifyJson(c.live)}`);
      else lines.push(`  ~ ${path}: ${stringifyJson(c.live)} -> ${stringifyJson(c.desired)}`);
    }
    return lines.join('\n');
  });
  return blocks.length === 0 ? '' : `${blocks.join('\n')}\n`;
}

export interface SyncTarget {
  sync(request: TargetSyncRequest): Promise<SyncOutcome>;
  /** True when the live objects differ from `objects` in fields this operator manages. */
  drifted(app: Application, objects: readonly KubeObject[], signal?: AbortSignal): Promise<boolean>;
  /** What a sync would change, one entry per object that would change (empty when in sync). */
  diff(app: Application, objects: readonly KubeObject[], signal?: AbortSignal): Promise<ObjectDiff[]>;
  /** The health of the objects the application last applied, read now. */
  health(app: Application, signal?: AbortSignal): Promise<HealthStatus>;
  appliedRevision(app: Application, signal?: AbortSignal): Promise<AppliedRevision | undefined>;
  /** The destination's Kubernetes version and API versions, for Helm's `.Capabilities`. */
  capabilities?(app: Application, signal?: AbortSignal): Promise<HelmCapabilities>;
  /**
   * Watches the cluster for changes to `objects` (as applied for `app`) that make them differ
   * from what was applied, or delete them; `onDrift` hears each one. Resolves once watching (with
   * the function that stops it). A target without it is checked for drift on the timer only.
   */
  watchDrift?(
    app: Application,
    objects: readonly KubeObject[],
    onDrift: (event: DriftEvent) => void,
    /** Ends the watch, also while it is still starting. */
    signal?: AbortSignal,
  ): Promise<() => Promise<void>>;
}

// Worst first: one degraded object makes the application degraded.
const SEVERITY: Record<HealthStatus, number> = {
  Degraded: 4,
  Missing: 3,
  Progressing: 2,
  Unknown: 1,
  Healthy: 0,
};

/** The health of an application from its objects' (Healthy when it has none). */
export function worstHealth(statuses: Iterable<HealthStatus>): HealthStatus {
  let worst: HealthStatus = 'Healthy';
  for (const s of statuses) if (SEVERITY[s] > SEVERITY[worst]) worst = s;
  return worst;
}
