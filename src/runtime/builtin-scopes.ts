/**
 * The scope of Kubernetes' built-in kinds, so that a manifest of a kind nobody registered can
 * still be placed (a Namespace has no namespace, a Deployment needs one). Keyed by group and
 * kind, never by version: scope does not change between versions.
 */
import type { GroupKind } from './gvk.js';

const CLUSTER_SCOPED: Record<string, readonly string[]> = {
  '': ['Namespace', 'Node', 'PersistentVolume', 'ComponentStatus'],
  'rbac.authorization.k8s.io': ['ClusterRole', 'ClusterRoleBinding'],
  'apiextensions.k8s.io': ['CustomResourceDefinition'],
  'apiregistration.k8s.io': ['APIService'],
  'storage.k8s.io': ['StorageClass', 'VolumeAttachment', 'CSIDriver', 'CSINode', 'VolumeAttributesClass'],
  'scheduling.k8s.io': ['PriorityClass'],
  'networking.k8s.io': ['IngressClass', 'IPAddress', 'ServiceCIDR'],
  'node.k8s.io': ['RuntimeClass'],
  'admissionregistration.k8s.io': [
    'ValidatingWebhookConfiguration',
    'MutatingWebhookConfiguration',
    'ValidatingAdmissionPolicy',
    'ValidatingAdmissionPolicyBinding',
    'MutatingAdmissionPolicy',
    'MutatingAdmissionPolicyBinding',
  ],
  'certificates.k8s.io': ['CertificateSigningRequest', 'ClusterTrustBundle'],
  'flowcontrol.apiserver.k8s.io': ['FlowSchema', 'PriorityLevelConfiguration'],
  'resource.k8s.io': ['DeviceClass', 'ResourceSlice'],
  policy: ['PodSecurityPolicy'],
  extensions: ['PodSecurityPolicy'],
  'authentication.k8s.io': ['TokenReview', 'SelfSubjectReview'],
  'authorization.k8s.io': ['SubjectAccessReview', 'SelfSubjectAccessReview', 'SelfSubjectRulesReview'],
  'storagemigration.k8s.io': ['StorageVersionMigration'],
  'internal.apiserver.k8s.io': ['StorageVersion'],
  'metrics.k8s.io': ['NodeMetrics'],
};

const NAMESPACED: Record<string, readonly string[]> = {
  '': [
    'Pod',
    'Service',
    'ConfigMap',
    'Secret',
    'ServiceAccount',
    'Endpoints',
    'Event',
    'LimitRange',
    'ResourceQuota',
    'PersistentVolumeClaim',
    'ReplicationController',
    'PodTemplate',
    'Binding',
  ],
  apps: ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'ControllerRevision'],
  batch: ['Job', 'CronJob'],
  autoscaling: ['HorizontalPodAutoscaler'],
  policy: ['PodDisruptionBudget'],
  'networking.k8s.io': ['Ingress', 'NetworkPolicy'],
  extensions: ['Deployment', 'DaemonSet', 'ReplicaSet', 'Ingress', 'NetworkPolicy'],
  'rbac.authorization.k8s.io': ['Role', 'RoleBinding'],
  'coordination.k8s.io': ['Lease'],
  'discovery.k8s.io': ['EndpointSlice'],
  'events.k8s.io': ['Event'],
  'storage.k8s.io': ['CSIStorageCapacity'],
  'authorization.k8s.io': ['LocalSubjectAccessReview'],
  'resource.k8s.io': ['ResourceClaim', 'ResourceClaimTemplate'],
  'metrics.k8s.io': ['PodMetrics'],
};

function index(table: Record<string, readonly string[]>): Set<string> {
  return new Set(Object.entries(table).flatMap(([group, kinds]) => kinds.map((kind) => `${group}/${kind}`)));
}

const clusterScoped = index(CLUSTER_SCOPED);
const namespaced = index(NAMESPACED);

/** True or false for a built-in kind; undefined for a kind Kubernetes does not ship. */
export function builtinIsNamespaced(gk: GroupKind): boolean | undefined {
  const id = `${gk.group}/${gk.kind}`;
  if (clusterScoped.has(id)) return false;
  if (namespaced.has(id)) return true;
  return undefined;
}
