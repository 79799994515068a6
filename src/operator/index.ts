/**
 * The operator layer: the Application kind and its client, rendering (plain files, Kustomize,
 * Helm), the engine-backed destinations, the reconciler and its decision, Git sources,
 * triggers (timers, webhooks), Kubernetes Events, leader election and the Operator. It drives
 * the apply engine of sync/, which knows nothing of it.
 */
export {
  APPLICATION_API_VERSION,
  APPLICATION_GROUP,
  APPLICATION_KIND,
  APPLICATION_PLURAL,
  APPLICATION_VERSION,
  applicationCrd,
  applicationFor,
  applicationKey,
  applicationScheme,
  destinationOf,
  IN_CLUSTER,
  parseDuration,
  toApplication,
} from './application.js';
export type {
  Application,
  ApplicationCondition,
  ApplicationDestination,
  ApplicationSource,
  ApplicationSpec,
  ApplicationStatus,
  ObjectSyncResult,
  RetryPolicy,
  SyncPhase,
  StatusWriteBackSpec,
  SyncPolicy,
} from './application.js';
export { Renderer, renderContextOf } from './render.js';
export type { RenderContext, RenderedPath, RendererOptions } from './render.js';
export { RenderCache } from './render-cache.js';
export type { RenderCacheOptions, RenderCacheStats } from './render-cache.js';
export {
  EngineTarget,
  REVISION_ANNOTATION,
  REVISION_COMPLETE_ANNOTATION,
  REVISION_FIELD_MANAGER,
  engineApplicationName,
  syncOutcomeOf,
} from './engine-target.js';
export type { EngineTargetOptions } from './engine-target.js';
export { DestinationTargets } from './destinations.js';
export type { DestinationTargetsOptions } from './destinations.js';
export { admitObjects, identityFor } from './tenancy.js';
export type { Admission, TenancyOptions } from './tenancy.js';
export { formatObjectDiffs, onDestination, worstHealth } from './destination.js';
export type {
  AppliedRevision,
  DestinationLease,
  Destinations,
  ObjectDiff,
  SyncOutcome,
} from './destination.js';
export { SyncEventRecorder } from './sync-events.js';
export type { SyncEventRecorderOptions } from './sync-events.js';
export { ApplicationReconciler } from './reconciler.js';
export type { ReconcilerContext, ReconcilerOptions, SyncRecord, TriggerReason } from './reconciler.js';
export { Operator } from './operator.js';
export { GitSources, comparableUrl } from './git-sources.js';
export type { FetchEvent, GitSourcesOptions } from './git-sources.js';
export type { ApplicationView, OperatorEvent, OperatorOptions } from './operator.js';
export { DeliveryMemory, handlePushWebhook } from './triggers.js';
export type { PushTriggerOptions, PushTriggerResult } from './triggers.js';
export {
  chartRepositoriesFromSecrets,
  credentialsFromSecret,
  credentialsFromSecretData,
} from './repository-credentials.js';
export { LeaderElector } from './leader-election.js';
export type { LeaderElectionOptions } from './leader-election.js';
export { StatusWriteBack, writtenStatus } from './status-write-back.js';
export type { StatusWriteBackOptions, WrittenStatus } from './status-write-back.js';
export type { ImportResult, ImportedApplication } from './import.js';
export { importApplications } from './import.js';
export { ApplicationClient, STATUS_OBJECTS_LIMIT } from './application-client.js';
export type { ApplicationWatchOptions } from './application-client.js';
export { OperatorManager } from './manager.js';
export type { OperatorLog, OperatorManagerOptions, WatchApplicationsOptions } from './manager.js';
export { selfHealBackoff } from './self-heal.js';
