/**
 * What a reconcile does next, as a pure function of what it knows so far: the reconciler gathers
 * one fact at a time (dependencies, the source's revision, the cluster's applied revision, the
 * rendered objects, a drift check) and asks after each. Kept free of I/O so that every case is a
 * row of a unit-test table.
 */
import type { TriggerReason } from './reconciler.js';

export interface ReconcileFacts {
  reason: TriggerReason;
  /** spec.suspend, and not a person's explicit (manual) sync. */
  suspended: boolean;
  /** Applications this one depends on that are not healthy yet. */
  waitingOn: readonly string[];
  dryRun: boolean;
  selfHeal: boolean;
  /** The revision the source resolved to; absent until fetched. */
  revision?: string;
  /** What the cluster says was last applied (after the fetch); null when nothing was. */
  applied?: { revision?: string; complete: boolean } | null;
  /**
   * True when no drift is pending: the drift watch follows this revision and saw nothing, or no
   * drift watch can run here (nothing would tell us).
   */
  driftKnown: boolean;
  /** The source has been rendered to objects. */
  rendered: boolean;
  /** The result of comparing the rendered objects with the cluster; absent until checked. */
  drifted?: boolean;
}

export type ReconcileStep =
  /** Suspended: report it, do nothing else. */
  | 'suspended'
  /** Dependencies are not healthy: report Waiting, do nothing else. */
  | 'wait'
  | 'fetch'
  /** The revision is applied and nothing says the cluster moved: report health, done. */
  | 'unchanged'
  | 'render'
  /** The revision is applied: compare the cluster with it before deciding. */
  | 'check-drift'
  /** Drift confirmed and self-heal off: report OutOfSync. */
  | 'report-drift'
  /** The applied revision is confirmed on the cluster: report Synced, done. */
  | 'confirm'
  /** Apply: a new revision, a manual sync, a dry run, or self-heal of confirmed drift. */
  | 'sync';

/** Whether the source's revision is the one the cluster already has, completely applied. */
export function alreadyApplied(facts: ReconcileFacts): boolean {
  return (
    facts.applied?.complete === true &&
    facts.applied.revision === facts.revision &&
    facts.reason !== 'manual' &&
    !facts.dryRun
  );
}

export function nextStep(facts: ReconcileFacts): ReconcileStep {
  if (facts.suspended) return 'suspended';
  if (facts.waitingOn.length > 0) return 'wait';
  if (facts.revision === undefined || facts.applied === undefined) return 'fetch';
  const applied = alreadyApplied(facts);
  // Without self-heal an applied revision needs no render, unless drift was seen (or cannot be
  // known yet: no watch since a restart) and has to be confirmed or cleared.
  if (applied && !facts.selfHeal && facts.driftKnown) return 'unchanged';
  if (!facts.rendered) return 'render';
  if (!applied) return 'sync';
  if (facts.drifted === undefined) return 'check-drift';
  if (!facts.drifted) return 'confirm';
  return facts.selfHeal ? 'sync' : 'report-drift';
}
