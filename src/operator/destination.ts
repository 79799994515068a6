/**
 * Where a reconciler applies: `Destinations` hands out the destination of an application (its
 * cluster's client and apply engine, held until released) together with the tenancy check of
 * its objects. The reconciler then calls that engine itself, so a trigger reaches an apply in
 * three hops: trigger -> reconciler -> (destination's) SyncEngine. Also the outcome of a sync
 * as the reconciler reports it, and the diff's text form.
 */
import { stringifyJson } from '../runtime/index.js';
import type { GitOpsError, KubeObject } from '../runtime/index.js';
import type { Application, ObjectSyncResult } from './application.js';
import type { EngineTarget } from './engine-target.js';
import type { FieldChange } from '../sync/index.js';
import type { HealthStatus } from '../sync/index.js';
import type { SyncResult } from '../sync/index.js';
import type { Admission } from './tenancy.js';

/** An application's destination, held: its engine is not closed before `release()`. */
export interface DestinationLease {
  /** The destination cluster's client, apply engine and revision marks. */
  destination: EngineTarget;
  /** Splits objects into those this application may apply there and those tenancy refuses. */
  admit(app: Application, objects: readonly KubeObject[], signal?: AbortSignal): Promise<Admission>;
  release(): void;
}

/** Hands out each application's destination: one cluster, or one per kubeconfig Secret and identity. */
export interface Destinations {
  acquire(app: Application, signal?: AbortSignal): Promise<DestinationLease>;
}

/** Runs `call` on `app`'s destination and releases it afterwards, also when `call` throws. */
export async function onDestination<T>(
  destinations: Destinations,
  app: Application,
  signal: AbortSignal | undefined,
  call: (lease: DestinationLease) => Promise<T>,
): Promise<T> {
  const lease = await destinations.acquire(app, signal);
  try {
    return await call(lease);
  } finally {
    lease.release();
  }
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
