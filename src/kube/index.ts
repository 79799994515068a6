/**
 * The kube layer: cluster access. Kubeconfig and auth (plain files read here, the rest through
 * @kubernetes/client-node), our own REST client (raw JSON, retries, limits, request counts),
 * discovery and REST mapping, server-side apply, dry-run, get, list, watch and delete.
 */
export type {
  ClusterConnection,
  KubeconfigOptions,
  KubeconfigTextOptions,
  RequestCredentials,
} from './kubeconfig.js';
export { kubeconfigFromText, loadKubeconfig } from './kubeconfig.js';
export type { ThrottleOptions } from './throttle.js';
export { Throttle } from './throttle.js';
export type {
  Impersonation,
  QueryValue,
  RequestRecord,
  RequestStats,
  RestClientOptions,
  RestRequest,
  RestResponse,
} from './rest-client.js';
export { RestClient, serviceAccountIdentity } from './rest-client.js';
export type { KubeStatus } from './status-error.js';
export { errorCodeFor, isKubeStatus, statusError } from './status-error.js';
export type { DiscoveryProblem, ResourceInfo, RestMapperOptions } from './discovery.js';
export { RestMapper } from './discovery.js';
export type {
  ApplyOptions,
  ApplyResult,
  KubeDeleteOptions,
  KubeClientOptions,
  KubeListOptions,
  ObjectList,
  ObjectRef,
} from './kube-client.js';
export { DEFAULT_FIELD_MANAGER, KubeClient, resourcePath } from './kube-client.js';
export type { WatchEvent, WatchEventType, KubeWatchOptions } from './watch.js';
export { watchObjects } from './watch.js';
