/**
 * The sync layer: plan (order, waves, stages), server-side apply that skips what
 * is up to date, diff and dry-run, prune with an in-cluster inventory, drift watching
 * (report only), health, and a result that accounts for every object. The operator that drives
 * it lives in operator/, a layer above.
 */

export type { SyncEngineOptions, SyncOptions, SyncRequest, WaveProgress } from './engine.js';
export { SyncEngine, syncOptionsOf } from './engine.js';
export type {
  Plan,
  PlanInput,
  PlanStep,
  PlannedObject,
  RejectedObject,
  Stage,
  ApplyPhase,
  Wave,
} from './plan.js';
export { APPLY_PHASES, compareByOrder, crdKindOf, kindRank, planSync, stageOf, wavesOf } from './plan.js';
export type { ApplyContext, ApplyOutcome } from './apply.js';
export { applyObject, isUpToDate } from './apply.js';
export type { FieldChange } from './diff.js';
export { comparable, diffObjects, sameObject } from './diff.js';
export type { Health, HealthStatus } from './health.js';
export { assessHealth } from './health.js';
export type { InventoryEntry } from './inventory.js';
export { Inventory } from './inventory.js';
export { isTrackedBy, pruneDisabled } from './prune.js';
export type { DriftEvent, DriftWatchOptions } from './drift.js';
export { DriftWatcher } from './drift.js';
export type { ObjectResult, RequestCounts, SyncAction, SyncResult, SyncSummary } from './result.js';
export { formatResult, summarize } from './result.js';
export { appliedFields, covers, ownsDesiredFields } from './ownership.js';
export { canonicalJson, desiredHash } from './desired-hash.js';
export {
  APPLICATION_LABEL,
  DESIRED_HASH_ANNOTATION,
  INVENTORY_LABEL,
  MARK_PREFIX,
  PRUNE_ANNOTATION,
  SYNC_PHASE_ANNOTATION,
  SYNC_WAVE_ANNOTATION,
  TRACKING_ID_ANNOTATION,
  trackingId,
} from './marks.js';
export type {
  ApplyPolicy,
  HookDeletePolicy,
  HookPhase,
  ObjectOptions,
  ReadOptionsResult,
} from './object-options.js';
export {
  APPLY_POLICY_ANNOTATION,
  HOOK_ANNOTATION,
  HOOK_DELETE_POLICY_ANNOTATION,
  HOOK_DELETE_POLICIES,
  HOOK_PHASES,
  defaultObjectOptions,
  readObjectOptions,
} from './object-options.js';
