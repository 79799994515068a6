/**
 * The names this engine writes on the cluster: its field manager, the label and annotations
 * that mark an object as applied by an application, and the annotations users set to steer a
 * sync. One prefix for all, so `kubectl get -o yaml` shows at a glance what is ours.
 */
import { ErrorCodes, GitOpsError, labelValueProblem } from '../runtime/index.js';

export const MARK_PREFIX = 'gitops.libgitops.dev/';

/** Label on every applied object: the application it belongs to (so one list finds them all). */
export const APPLICATION_LABEL = `${MARK_PREFIX}application`;
/**
 * Annotation on every applied object: `<application>:<object key>`. An object is ours to prune
 * only if it still carries exactly this value: a copy of our labels on another object is not.
 */
export const TRACKING_ID_ANNOTATION = `${MARK_PREFIX}tracking-id`;
/** Annotation: hash of the object as we last applied it, to skip objects that did not change. */
export const DESIRED_HASH_ANNOTATION = `${MARK_PREFIX}desired-hash`;
/** Annotation set by users: integer wave, lower first (default 0). */
export const SYNC_WAVE_ANNOTATION = `${MARK_PREFIX}sync-wave`;
/** Annotation set by users: `PreSync`, `Sync` (default) or `PostSync`. */
export const SYNC_PHASE_ANNOTATION = `${MARK_PREFIX}sync-phase`;
/** Annotation set by users: `false` (or `disabled`) keeps the object when it leaves the input. */
export const PRUNE_ANNOTATION = `${MARK_PREFIX}prune`;
/** Label on an inventory ConfigMap: the application whose inventory it is. */
export const INVENTORY_LABEL = `${MARK_PREFIX}inventory`;

/** `<application>:<object key>`, the tracking id written on an object. */
export function trackingId(application: string, objectId: string): string {
  return `${application}:${objectId}`;
}

/** Throws Invalid unless the name can be a label value and a ConfigMap name part. */
export function checkApplicationName(application: string): void {
  const problem = labelValueProblem(application);
  if (application === '' || problem !== undefined || !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(application)) {
    throw new GitOpsError(
      ErrorCodes.Invalid,
      `application name ${JSON.stringify(application)} must be 1-63 lower-case letters, digits, "-" or ".", ` +
        'starting and ending with a letter or digit' +
        (problem === undefined ? '' : ` (${problem})`),
      { details: { field: 'application', value: application } },
    );
  }
}
