/**
 * Health of a live object: Healthy, Progressing, Degraded, Missing or Unknown, with a reason a
 * person can read. Checks follow what the controllers of each kind report (observedGeneration,
 * replica counts, conditions); any other kind is healthy once applied unless it carries the
 * conventional `Ready` (or `Stalled`) condition, which then decides.
 */
import { isPlainObject } from '../runtime/index.js';
import type { KubeObject } from '../runtime/index.js';

export type HealthStatus = 'Healthy' | 'Progressing' | 'Degraded' | 'Missing' | 'Unknown';

export interface Health {
  status: HealthStatus;
  /** Short machine-readable reason, e.g. `RolloutInProgress`, `Established`. */
  reason?: string;
  message?: string;
}

type Check = (object: KubeObject, status: Record<string, unknown>) => Health;

const CHECKS: Record<string, Check> = {
  'apps/Deployment': deploymentHealth,
  'apps/StatefulSet': statefulSetHealth,
  'apps/DaemonSet': daemonSetHealth,
  'apps/ReplicaSet': replicaSetHealth,
  'batch/Job': jobHealth,
  '/Pod': podHealth,
  '/PersistentVolumeClaim': pvcHealth,
  '/Service': serviceHealth,
  'networking.k8s.io/Ingress': ingressHealth,
  'extensions/Ingress': ingressHealth,
  'apiextensions.k8s.io/CustomResourceDefinition': crdHealth,
  '/Namespace': namespaceHealth,
  'apiregistration.k8s.io/APIService': apiServiceHealth,
};

export const MISSING: Health = {
  status: 'Missing',
  reason: 'NotFound',
  message: 'the object does not exist',
};

/** The health of `object` (undefined: it does not exist). */
export function assessHealth(object: KubeObject | undefined): Health {
  if (object === undefined) return MISSING;
  const metadata = object.metadata ?? {};
  if (metadata.deletionTimestamp) {
    return { status: 'Progressing', reason: 'Deleting', message: 'the object is being deleted' };
  }
  const group =
    typeof object.apiVersion === 'string' && object.apiVersion.includes('/')
      ? object.apiVersion.split('/')[0]
      : '';
  const status = isPlainObject(object.status) ? object.status : {};
  const check = CHECKS[`${group}/${object.kind}`];
  try {
    return check !== undefined ? check(object, status) : genericHealth(object, status);
  } catch (err) {
    return {
      status: 'Unknown',
      reason: 'CheckFailed',
      message: err instanceof Error ? err.message : String(err),
    };
  }
}

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

function conditions(status: Record<string, unknown>): Condition[] {
  const list = Array.isArray(status.conditions) ? status.conditions : [];
  return list.filter(
    (c): c is Condition => isPlainObject(c) && typeof c.type === 'string' && typeof c.status === 'string',
  );
}

function condition(status: Record<string, unknown>, type: string): Condition | undefined {
  return conditions(status).find((c) => c.type === type);
}

function num(value: unknown, fallback = 0): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}

function spec(object: KubeObject): Record<string, unknown> {
  return isPlainObject(object.spec) ? object.spec : {};
}

/** Progressing while the controller has not seen the latest spec. */
function notObserved(object: KubeObject, status: Record<string, unknown>): Health | undefined {
  const generation = object.metadata?.generation;
  const observed = status.observedGeneration;
  if (typeof generation === 'number' && (typeof observed !== 'number' || observed < generation)) {
    return {
      status: 'Progressing',
      reason: 'NotObserved',
      message: `waiting for the controller to observe generation ${generation}`,
    };
  }
  return undefined;
}

function healthy(reason: string, message?: string): Health {
  return message === undefined ? { status: 'Healthy', reason } : { status: 'Healthy', reason, message };
}

function progressing(reason: string, message: string): Health {
  return { status: 'Progressing', reason, message };
}

function degraded(reason: string, message: string): Health {
  return { status: 'Degraded', reason, message };
}

function deploymentHealth(object: KubeObject, status: Record<string, unknown>): Health {
  if (spec(object).paused === true) return healthy('Paused', 'the rollout is paused');
  const waiting = notObserved(object, status);
  if (waiting) return waiting;
  const progress = condition(status, 'Progressing');
  if (progress?.reason === 'ProgressDeadlineExceeded') {
    return degraded(
      'ProgressDeadlineExceeded',
      progress.message ?? 'the rollout exceeded its progress deadline',
    );
  }
  const wanted = num(spec(object).replicas, 1);
  const updated = num(status.updatedReplicas);
  const replicas = num(status.replicas);
  const available = num(status.availableReplicas);
  if (updated < wanted) return progressing('RolloutInProgress', `${updated} of ${wanted} replicas updated`);
  if (replicas > updated) {
    return progressing('RolloutInProgress', `${replicas - updated} old replicas are pending termination`);
  }
  if (available < updated)
    return progressing('RolloutInProgress', `${available} of ${updated} updated replicas available`);
  return healthy('RolloutComplete', `${available} of ${wanted} replicas available`);
}

function statefulSetHealth(object: KubeObject, status: Record<string, unknown>): Health {
  const waiting = notObserved(object, status);
  if (waiting) return waiting;
  const wanted = num(spec(object).replicas, 1);
  const ready = num(status.readyReplicas);
  const strategy = isPlainObject(spec(object).updateStrategy)
    ? (spec(object).updateStrategy as Record<string, unknown>)
    : {};
  if (ready < wanted) return progressing('RolloutInProgress', `${ready} of ${wanted} replicas ready`);
  if (strategy.type === 'OnDelete') return healthy('OnDelete', 'updates wait for pods to be deleted');
  const rolling = isPlainObject(strategy.rollingUpdate) ? strategy.rollingUpdate : {};
  const partition = num(rolling.partition);
  if (partition > 0) {
    const updated = num(status.updatedReplicas);
    if (updated < wanted - partition) {
      return progressing(
        'RolloutInProgress',
        `${updated} of ${wanted - partition} replicas above the partition updated`,
      );
    }
    return healthy('PartitionedRolloutComplete');
  }
  if (status.updateRevision !== undefined && status.currentRevision !== status.updateRevision) {
    return progressing('RolloutInProgress', `${num(status.updatedReplicas)} of ${wanted} replicas updated`);
  }
  return healthy('RolloutComplete', `${ready} of ${wanted} replicas ready`);
}

function daemonSetHealth(object: KubeObject, status: Record<string, unknown>): Health {
  const waiting = notObserved(object, status);
  if (waiting) return waiting;
  const wanted = num(status.desiredNumberScheduled);
  const updated = num(status.updatedNumberScheduled);
  const available = num(status.numberAvailable);
  const strategy = isPlainObject(spec(object).updateStrategy)
    ? (spec(object).updateStrategy as Record<string, unknown>)
    : {};
  if (strategy.type !== 'OnDelete' && updated < wanted) {
    return progressing('RolloutInProgress', `${updated} of ${wanted} pods updated`);
  }
  if (available < wanted) return progressing('RolloutInProgress', `${available} of ${wanted} pods available`);
  return healthy('RolloutComplete', `${available} of ${wanted} pods available`);
}

function replicaSetHealth(object: KubeObject, status: Record<string, unknown>): Health {
  const waiting = notObserved(object, status);
  if (waiting) return waiting;
  const failure = condition(status, 'ReplicaFailure');
  if (failure?.status === 'True')
    return degraded(failure.reason ?? 'ReplicaFailure', failure.message ?? 'pods cannot be created');
  const wanted = num(spec(object).replicas, 1);
  const available = num(status.availableReplicas);
  if (available < wanted) return progressing('Scaling', `${available} of ${wanted} replicas available`);
  return healthy('Available', `${available} of ${wanted} replicas available`);
}

function jobHealth(object: KubeObject, status: Record<string, unknown>): Health {
  const failed = condition(status, 'Failed');
  if (failed?.status === 'True')
    return degraded(failed.reason ?? 'Failed', failed.message ?? 'the job failed');
  const complete = condition(status, 'Complete');
  if (complete?.status === 'True') return healthy('Complete', complete.message);
  if (spec(object).suspend === true) return healthy('Suspended', 'the job is suspended');
  return progressing('Running', `${num(status.active)} active, ${num(status.succeeded)} succeeded`);
}

const BAD_WAITING = new Set([
  'CrashLoopBackOff',
  'ErrImagePull',
  'ImagePullBackOff',
  'CreateContainerConfigError',
  'CreateContainerError',
  'InvalidImageName',
  'RunContainerError',
]);

function podHealth(object: KubeObject, status: Record<string, unknown>): Health {
  const phase = status.phase;
  const containers = [
    ...(Array.isArray(status.initContainerStatuses) ? status.initContainerStatuses : []),
    ...(Array.isArray(status.containerStatuses) ? status.containerStatuses : []),
  ].filter(isPlainObject);
  for (const c of containers) {
    const waiting = isPlainObject(c.state) && isPlainObject(c.state.waiting) ? c.state.waiting : undefined;
    if (waiting !== undefined && typeof waiting.reason === 'string' && BAD_WAITING.has(waiting.reason)) {
      return degraded(
        waiting.reason,
        `container ${String(c.name)}: ${String(waiting.message ?? waiting.reason)}`,
      );
    }
  }
  if (phase === 'Succeeded') return healthy('Succeeded');
  if (phase === 'Failed')
    return degraded('Failed', typeof status.message === 'string' ? status.message : 'the pod failed');
  if (phase === 'Running') {
    const ready = condition(status, 'Ready');
    if (ready?.status === 'True') return healthy('Running');
    return progressing('NotReady', ready?.message ?? 'containers are not ready yet');
  }
  if (phase === 'Pending') {
    const scheduled = condition(status, 'PodScheduled');
    return progressing('Pending', scheduled?.message ?? 'the pod is pending');
  }
  return { status: 'Unknown', reason: 'NoPhase', message: 'the pod reports no phase yet' };
}

function pvcHealth(_object: KubeObject, status: Record<string, unknown>): Health {
  if (status.phase === 'Bound') return healthy('Bound');
  if (status.phase === 'Lost') return degraded('Lost', 'the bound volume was lost');
  return progressing('Pending', 'waiting for a volume to be bound');
}

function serviceHealth(object: KubeObject, status: Record<string, unknown>): Health {
  if (spec(object).type !== 'LoadBalancer') return healthy('Ready');
  const lb = isPlainObject(status.loadBalancer) ? status.loadBalancer : {};
  if (Array.isArray(lb.ingress) && lb.ingress.length > 0) return healthy('LoadBalancerReady');
  return progressing('WaitingForLoadBalancer', 'waiting for the load balancer to get an address');
}

function ingressHealth(_object: KubeObject, status: Record<string, unknown>): Health {
  const lb = isPlainObject(status.loadBalancer) ? status.loadBalancer : {};
  if (Array.isArray(lb.ingress) && lb.ingress.length > 0) return healthy('AddressAssigned');
  return progressing('WaitingForAddress', 'waiting for the ingress controller to assign an address');
}

function crdHealth(_object: KubeObject, status: Record<string, unknown>): Health {
  const names = condition(status, 'NamesAccepted');
  if (names?.status === 'False')
    return degraded(names.reason ?? 'NamesNotAccepted', names.message ?? 'names not accepted');
  const established = condition(status, 'Established');
  if (established?.status === 'True') return healthy('Established');
  return progressing(
    'NotEstablished',
    established?.message ?? 'waiting for the API server to serve the new kind',
  );
}

function namespaceHealth(_object: KubeObject, status: Record<string, unknown>): Health {
  if (status.phase === 'Terminating') return progressing('Terminating', 'the namespace is being deleted');
  return healthy('Active');
}

function apiServiceHealth(_object: KubeObject, status: Record<string, unknown>): Health {
  const available = condition(status, 'Available');
  if (available?.status === 'True') return healthy('Available');
  return progressing(
    available?.reason ?? 'NotAvailable',
    available?.message ?? 'the API service is not available yet',
  );
}

function genericHealth(object: KubeObject, status: Record<string, unknown>): Health {
  const stalled = condition(status, 'Stalled');
  if (stalled?.status === 'True')
    return degraded(stalled.reason ?? 'Stalled', stalled.message ?? 'the controller gave up');
  const ready = condition(status, 'Ready');
  if (ready === undefined) return healthy('Applied');
  // A controller that reports Ready for an older spec has not caught up yet.
  const waiting = notObservedIfReported(object, status);
  if (waiting) return waiting;
  if (ready.status === 'True') return healthy(ready.reason ?? 'Ready', ready.message);
  // Ready=False usually means "still working" (kstatus); a reason naming a failure means stuck.
  if (ready.status === 'False' && /fail|error|invalid/i.test(ready.reason ?? '')) {
    return degraded(ready.reason ?? 'NotReady', ready.message ?? 'the object is not ready');
  }
  return progressing(ready.reason ?? 'Reconciling', ready.message ?? 'the object is being reconciled');
}

function notObservedIfReported(object: KubeObject, status: Record<string, unknown>): Health | undefined {
  return typeof status.observedGeneration === 'number' ? notObserved(object, status) : undefined;
}
