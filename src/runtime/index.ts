/** The runtime layer: object types, GroupVersionKind, ObjectKey, the Scheme and the error catalogue. */
export * from './errors.js';
export {
  abortable,
  abortedError,
  isAborted,
  linkedController,
  pause,
  sleep,
  throwIfAborted,
} from './abort.js';
export type { BackoffPolicy } from './backoff.js';
export { Backoff, KeyedBackoff, backoffDelay } from './backoff.js';
export { mapLimit } from './concurrency.js';
export { lazyModule } from './lazy-module.js';
export type { Listener } from './event-hub.js';
export { EventHub } from './event-hub.js';
export type {
  TypeMeta,
  ObjectMeta,
  ListMeta,
  OwnerReference,
  ManagedFieldsEntry,
  KubeObject,
  KubeList,
} from './types.js';
export { isKubeObject, isList, isPlainObject } from './types.js';
export type { GroupVersion, GroupVersionKind, GroupKind } from './gvk.js';
export {
  parseApiVersion,
  formatApiVersion,
  apiVersionOf,
  gvkOf,
  gvkToString,
  gvkEquals,
  groupKindOf,
  groupKindToString,
  compareVersions,
  sortByVersionPriority,
  isValidGroup,
  isValidVersion,
} from './gvk.js';
export type { ObjectKey } from './object-key.js';
export { keyOf, objectKeyToString, parseObjectKey, objectKeysEqual, ObjectKeyMap } from './object-key.js';
export type { FieldPathSegment } from './field-path.js';
export { formatFieldPath, parseFieldPath } from './field-path.js';
export type { ValidateOptions, ObjectMetaCheck } from './object-meta.js';
export {
  validateUnstructured,
  validateObjectMeta,
  qualifiedNameProblem,
  labelValueProblem,
} from './object-meta.js';
export type { JSONSchemaProps, SchemaType } from './schema.js';
export { compileKubePattern } from './schema.js';
export type { KindDefinition, KindInfo, Scope, Converter, Defaulter } from './scheme.js';
export type { SchemeOptions } from './scheme.js';
export { Scheme, guessPlural } from './scheme.js';
export type { BuiltinKubeVersion, BuiltinSchemaSet } from './builtin-schema.js';
export {
  BUILTIN_KUBE_VERSIONS,
  DEFAULT_KUBE_VERSION,
  builtinSchemas,
  isQuantity,
  normalizeKubeVersion,
} from './builtin-schema.js';
export { builtinIsNamespaced } from './builtin-scopes.js';
export { deepCopy, deepEqual } from './json-value.js';
export { redactUrlSecrets } from './redact-url.js';
export { containsBigInt, parseJsonExact, stringifyJson, withApproximateNumbers } from './exact-json.js';
