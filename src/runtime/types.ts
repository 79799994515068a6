/**
 * The shape of Kubernetes-style objects, as plain JSON values. Field names and meanings follow
 * k8s.io/apimachinery's meta/v1 types, so an object read from a file is exactly what the API
 * server would accept.
 *
 * Numbers: an integer is a `number` while it is a safe integer (within ±(2^53 - 1)) and a
 * `bigint` beyond, so int64 and uint64 values (the seed Car's `status.distance`,
 * 12176941420362965433) are kept exactly. Every layer reads and writes them so: the decoder
 * (YAML and JSON), the encoder, storage writes and patches, the HTTP servers, the Kubernetes
 * client and `gitops validate -o json`. Code that handles objects should expect a bigint where
 * an integer field may be large, and use `stringifyJson`/`parseJsonExact` (not
 * `JSON.stringify`, which throws on a bigint, or `JSON.parse`, which rounds).
 */

/** The two fields that say what an object is. */
export interface TypeMeta {
  apiVersion: string;
  kind: string;
}

/** Points from a dependent object to the object that owns it (garbage collection). */
export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

/** One manager's claim on a set of fields, as server-side apply records it. */
export interface ManagedFieldsEntry {
  manager?: string;
  operation?: 'Apply' | 'Update' | (string & {});
  apiVersion?: string;
  time?: string;
  fieldsType?: string;
  fieldsV1?: Record<string, unknown>;
  subresource?: string;
}

/** The standard metadata every persisted object has. */
export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  /** RFC 3339 date-time, e.g. `2024-01-02T03:04:05Z`. */
  creationTimestamp?: string | null;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
  managedFields?: ManagedFieldsEntry[];
  /** Deprecated upstream but still found in old manifests. */
  selfLink?: string;
}

/** The metadata of a list: where it is in a paged read, and its version. */
export interface ListMeta {
  resourceVersion?: string;
  continue?: string;
  remainingItemCount?: number;
  selfLink?: string;
}

/**
 * Any Kubernetes-style object. `spec` and `status` are typed when the caller knows them; other
 * top-level fields (a ConfigMap's `data`, a Role's `rules`) pass through the index signature.
 */
export interface KubeObject<Spec = unknown, Status = unknown> extends TypeMeta {
  metadata: ObjectMeta;
  spec?: Spec;
  status?: Status;
  [field: string]: unknown;
}

/** A list of objects, e.g. `kind: List` or `kind: DeploymentList`. */
export interface KubeList<T = KubeObject> {
  apiVersion: string;
  kind: string;
  metadata?: ListMeta;
  items: T[];
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** True when `value` has the shape of an object: apiVersion and kind strings and a metadata map. */
export function isKubeObject(value: unknown): value is KubeObject {
  return (
    isPlainObject(value) &&
    typeof value.apiVersion === 'string' &&
    typeof value.kind === 'string' &&
    isPlainObject(value.metadata)
  );
}

/** True for `kind: List` and for `kind: <Something>List` with an `items` array. */
export function isList(value: unknown): value is KubeList<unknown> {
  if (!isPlainObject(value) || typeof value.kind !== 'string' || !Array.isArray(value.items)) return false;
  return value.kind === 'List' || (value.kind.endsWith('List') && value.kind.length > 'List'.length);
}
