/**
 * What a sync did, object by object, and in sum. Every input object and every pruning
 * candidate ends up here with its action, its error if any, and its health: nothing is dropped.
 */
import type { GitOpsError, ObjectKey } from '../runtime/index.js';
import type { FieldChange } from './diff.js';
import type { Health, HealthStatus } from './health.js';
import type { HookResult } from './hooks.js';
import type { Stage, ApplyPhase, PlannedObject } from './plan.js';
import { MISSING } from './health.js';

/**
 * `created`/`configured`: sent and stored (or, in a dry-run, would be); `unchanged`: not sent,
 * or sent to the dry-run only, because nothing would change; `pruned`: deleted as it left the
 * input; `failed`: see `error`; `skipped`: not attempted (see `message` and `error`).
 */
export type SyncAction = 'created' | 'configured' | 'unchanged' | 'pruned' | 'failed' | 'skipped';

export interface ObjectResult {
  /** ObjectKey string; absent only for input that has no name or kind. */
  id?: string;
  key?: ObjectKey;
  apiVersion?: string;
  phase?: ApplyPhase;
  wave?: number;
  stage?: Stage;
  action: SyncAction;
  /** True when someone else had changed the object on the cluster and this sync restored it. */
  drifted?: boolean;
  message?: string;
  error?: GitOpsError;
  health: Health;
  /** Set for a hook: its phase, the name it ran under, and how it ended. */
  hook?: HookResult;
  /** Annotations of Argo CD, Flux or Helm on the object that are not acted on here. */
  warnings?: string[];
  /** What changed (dry-runs, and drift); Secret values are redacted. */
  changes?: FieldChange[];
}

export interface SyncSummary {
  total: number;
  created: number;
  configured: number;
  unchanged: number;
  pruned: number;
  failed: number;
  skipped: number;
  drifted: number;
  health: Record<HealthStatus, number>;
}

export interface RequestCounts {
  total: number;
  /** Requests that change the cluster: apply, delete, inventory writes (not dry-runs). */
  writes: number;
  dryRuns: number;
  reads: number;
}

export interface SyncResult {
  application: string;
  dryRun: boolean;
  /** No object failed and no error stopped the sync. */
  ok: boolean;
  startedAt: string;
  durationMs: number;
  /** In plan order, then the rejected input, then the pruning candidates. */
  objects: ObjectResult[];
  summary: SyncSummary;
  /** Problems of the sync as a whole (unreachable server, refused prune, inventory errors). */
  errors: GitOpsError[];
  requests: RequestCounts;
}

export function summarize(objects: readonly ObjectResult[]): SyncSummary {
  const summary: SyncSummary = {
    total: objects.length,
    created: 0,
    configured: 0,
    unchanged: 0,
    pruned: 0,
    failed: 0,
    skipped: 0,
    drifted: 0,
    health: { Healthy: 0, Progressing: 0, Degraded: 0, Missing: 0, Unknown: 0 },
  };
  for (const o of objects) {
    summary[o.action]++;
    if (o.drifted) summary.drifted++;
    if (o.action !== 'pruned') summary.health[o.health.status]++;
  }
  return summary;
}

/** One line per object, e.g. for a CLI: `configured  apps/Deployment/web/api  Progressing (drift)`. */
export function formatResult(result: SyncResult): string {
  const lines = result.objects.map((o) => {
    const extra = [
      o.hook === undefined
        ? ''
        : `hook ${o.hook.phase} ${o.hook.outcome}${o.hook.deleted ? ', deleted' : ''}`,
      o.drifted ? 'drift' : '',
      o.error ? o.error.message : (o.message ?? ''),
      ...(o.warnings ?? []).map((w) => `warning: ${w}`),
    ].filter((s) => s !== '');
    return `${o.action.padEnd(10)}  ${o.id ?? '(unnamed)'}  ${o.health.status}${extra.length > 0 ? ` (${extra.join('; ')})` : ''}`;
  });
  const s = result.summary;
  lines.push(
    `${result.dryRun ? 'dry-run: ' : ''}${s.created} created, ${s.configured} configured, ${s.unchanged} unchanged, ` +
      `${s.pruned} pruned, ${s.failed} failed, ${s.skipped} skipped in ${result.durationMs} ms ` +
      `(${result.requests.writes} writes, ${result.requests.dryRuns} dry-runs, ${result.requests.reads} reads)`,
  );
  for (const e of result.errors) lines.push(`error: ${e.message}`);
  return lines.join('\n');
}

/** The result of a planned object: its identity and place in the plan, its warnings, and `extra` (undefined values left out). */
export function plannedResult(
  p: PlannedObject,
  action: ObjectResult['action'],
  extra: Partial<ObjectResult> = {},
): ObjectResult {
  const defined = Object.fromEntries(Object.entries(extra).filter(([, v]) => v !== undefined));
  return {
    id: p.id,
    key: p.key,
    apiVersion: p.object.apiVersion,
    phase: p.phase,
    wave: p.wave,
    stage: p.stage,
    action,
    health: MISSING,
    ...(p.warnings.length > 0 ? { warnings: p.warnings } : {}),
    ...(defined as Partial<ObjectResult>),
  };
}
