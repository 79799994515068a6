/**
 * Kubernetes for tests: a real etcd, kube-apiserver, kube-controller-manager and kube-scheduler,
 * with nodes simulated by KWOK, built from the Go module proxy and started on loopback, or the user's own cluster when a kubeconfig is given.
 */
export { ETCD_VERSION, KUBE_VERSION, KWOK_VERSION, ensureClusterBinaries } from './build.js';
export type { BuildOptions, ClusterBinaries } from './build.js';
export { KWOK_STAGES_FILE, defaultNodeCount, startControlPlane } from './control-plane.js';
export type { ControlPlane, StartOptions } from './control-plane.js';
export { readKubeconfig, userKubeconfigPath } from './external-cluster.js';
export { kubeRequest, kubeRequestOk } from './kube-request.js';
export type { ClusterAccess, KubeRequestOptions, KubeResponse } from './kube-request.js';
export { serviceAccountToken } from './service-account.js';
export type { PolicyRule, ServiceAccountOptions } from './service-account.js';
export { testNamespace } from './test-namespace.js';
export type { TestNamespace } from './test-namespace.js';
export { clusterSetupTimeoutMs, useCluster } from './use-cluster.js';
export type { TestCluster } from './use-cluster.js';
export { startHoldingProxy } from './holding-proxy.js';
export type { HoldingProxy } from './holding-proxy.js';
