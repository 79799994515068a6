/**
 * Checks every object gets, registered kind or not: apiVersion, kind, and metadata by the rules
 * the API server applies to ObjectMeta. CRD schemas leave metadata to the server (usually just
 * `metadata: {type: object}`), so these rules are ours, not the schema's.
 */
import { ErrorCodes, GitOpsError } from './errors.js';
import type { ErrorCode } from './errors.js';
import { formatFieldPath } from './field-path.js';
import type { FieldPathSegment } from './field-path.js';
import { builtinIsNamespaced } from './builtin-scopes.js';
import { parseApiVersion } from './gvk.js';
import { isList, isPlainObject } from './types.js';

export interface ValidateOptions {
  /** Report fields the schema (or ObjectMeta) does not know as UnknownField. */
  strict?: boolean;
}

/** The fields of ObjectMeta, for strict checks of metadata. */
const OBJECT_META_FIELDS = new Set([
  'name',
  'generateName',
  'namespace',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'labels',
  'annotations',
  'ownerReferences',
  'finalizers',
  'managedFields',
  'selfLink',
]);

const STRING_FIELDS = ['name', 'generateName', 'namespace', 'uid', 'resourceVersion', 'selfLink'] as const;
const INTEGER_FIELDS = ['generation', 'deletionGracePeriodSeconds'] as const;
const TIME_FIELDS = ['creationTimestamp', 'deletionTimestamp'] as const;

// Kubernetes' qualified names (label and annotation keys) and label values.
const NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function problem(code: ErrorCode, path: FieldPathSegment[], message: string): GitOpsError {
  const field = formatFieldPath(path);
  return new GitOpsError(code, `${field}: ${message}`, { details: { field, fieldSegments: path } });
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  return `${typeof value} ${JSON.stringify(value)}`;
}

/** Why `key` is not a qualified name (`[prefix/]name`), or undefined when it is one. */
export function qualifiedNameProblem(key: string): string | undefined {
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && (prefix === '' || prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) {
    return 'its prefix must be a lowercase DNS subdomain (e.g. "example.com/my-key")';
  }
  if (name === '' || name.length > 63 || !NAME_PART.test(name)) {
    return 'its name must be 1-63 characters, alphanumeric at both ends, with "-", "_" or "." inside';
  }
  return undefined;
}

/** Why `value` is not a valid label value, or undefined when it is one. */
export function labelValueProblem(value: string): string | undefined {
  if (value.length > 63 || !LABEL_VALUE.test(value)) {
    return 'a label value must be empty or 0-63 characters, alphanumeric at both ends, with "-", "_" or "." inside';
  }
  return undefined;
}

function checkStringMap(
  map: unknown,
  path: FieldPathSegment[],
  problems: GitOpsError[],
  isLabels: boolean,
): void {
  if (map === undefined || map === null) return;
  if (!isPlainObject(map)) {
    problems.push(problem(ErrorCodes.TypeMismatch, path, `must be a map of strings, not ${describe(map)}`));
    return;
  }
  for (const [key, value] of Object.entries(map)) {
    const keyProblem = qualifiedNameProblem(key);
    if (keyProblem !== undefined) {
      problems.push(
        problem(ErrorCodes.Invalid, [...path, key], `invalid key ${JSON.stringify(key)}: ${keyProblem}`),
      );
    }
    if (typeof value !== 'string') {
      // The classic: `enabled: true` or `port: 8080` unquoted in YAML.
      problems.push(
        problem(
          ErrorCodes.TypeMismatch,
          [...path, key],
          `must be a string, not ${describe(value)} (quote it in YAML)`,
        ),
      );
    } else if (isLabels) {
      const valueProblem = labelValueProblem(value);
      if (valueProblem !== undefined)
        problems.push(problem(ErrorCodes.Invalid, [...path, key], valueProblem));
    }
  }
}

export interface ObjectMetaCheck {
  strict?: boolean;
  /** False for embedded objects such as pod templates, which have no name of their own. */
  requireName?: boolean;
  /** The name is only a path segment, of any length (RBAC kinds). */
  pathSegmentName?: boolean;
}

/** Problems with `metadata` (at `path`, `.metadata` by default), by ObjectMeta's rules. */
export function validateObjectMeta(
  metadata: unknown,
  options: ObjectMetaCheck = {},
  path: FieldPathSegment[] = ['metadata'],
): GitOpsError[] {
  const problems: GitOpsError[] = [];
  const requireName = options.requireName ?? true;
  if (metadata === undefined || metadata === null) {
    if (requireName) {
      problems.push(problem(ErrorCodes.MissingName, [...path, 'name'], 'the object has no metadata.name'));
    }
    return problems;
  }
  if (!isPlainObject(metadata)) {
    problems.push(problem(ErrorCodes.TypeMismatch, path, `must be a map, not ${describe(metadata)}`));
    return problems;
  }
  for (const field of STRING_FIELDS) {
    const value = metadata[field];
    if (value !== undefined && value !== null && typeof value !== 'string') {
      problems.push(
        problem(ErrorCodes.TypeMismatch, [...path, field], `must be a string, not ${describe(value)}`),
      );
    }
  }
  const { name, generateName, namespace } = metadata;
  const hasName = typeof name === 'string' && name !== '';
  const hasGenerateName = typeof generateName === 'string' && generateName !== '';
  if (requireName && !hasName && !hasGenerateName && (name === undefined || name === null || name === '')) {
    problems.push(
      problem(
        ErrorCodes.MissingName,
        [...path, 'name'],
        'the object has neither metadata.name nor metadata.generateName',
      ),
    );
  }
  // Names are path segments in the API: never "/" or "%", never "." or "..".
  for (const [field, value] of [
    ['name', name],
    ['generateName', generateName],
  ] as const) {
    if (typeof value !== 'string' || value === '') continue;
    if (value.length > 253 && !(field === 'name' && options.pathSegmentName === true)) {
      problems.push(problem(ErrorCodes.Invalid, [...path, field], 'must be at most 253 characters'));
    } else if (/[/%]/.test(value) || (field === 'name' && (value === '.' || value === '..'))) {
      problems.push(
        problem(
          ErrorCodes.Invalid,
          [...path, field],
          `${JSON.stringify(value)} may not contain "/" or "%", nor be "." or ".."`,
        ),
      );
    }
  }
  if (
    typeof namespace === 'string' &&
    namespace !== '' &&
    (namespace.length > 63 || !DNS_LABEL.test(namespace))
  ) {
    problems.push(
      problem(
        ErrorCodes.Invalid,
        [...path, 'namespace'],
        `${JSON.stringify(namespace)} is not a valid namespace: lowercase letters, digits and "-", at most 63`,
      ),
    );
  }
  for (const field of INTEGER_FIELDS) {
    const value = metadata[field];
    if (value !== undefined && value !== null && !Number.isInteger(value)) {
      problems.push(
        problem(ErrorCodes.TypeMismatch, [...path, field], `must be an integer, not ${describe(value)}`),
      );
    }
  }
  for (const field of TIME_FIELDS) {
    const value = metadata[field];
    // js-yaml reads unquoted timestamps as Dates only with the default schema; accept both.
    if (value !== undefined && value !== null && typeof value !== 'string' && !(value instanceof Date)) {
      problems.push(
        problem(
          ErrorCodes.TypeMismatch,
          [...path, field],
          `must be an RFC 3339 time string, not ${describe(value)}`,
        ),
      );
    }
  }
  checkStringMap(metadata.labels, [...path, 'labels'], problems, true);
  checkStringMap(metadata.annotations, [...path, 'annotations'], problems, false);
  checkStringList(metadata.finalizers, [...path, 'finalizers'], problems);
  checkObjectList(metadata.ownerReferences, [...path, 'ownerReferences'], problems, [
    'apiVersion',
    'kind',
    'name',
    'uid',
  ]);
  checkObjectList(metadata.managedFields, [...path, 'managedFields'], problems, []);
  if (options.strict === true) {
    for (const key of Object.keys(metadata)) {
      if (!OBJECT_META_FIELDS.has(key)) {
        problems.push(
          problem(
            ErrorCodes.UnknownField,
            [...path, key],
            `unknown field ${JSON.stringify(key)} in metadata`,
          ),
        );
      }
    }
  }
  return problems;
}

function checkStringList(list: unknown, path: FieldPathSegment[], problems: GitOpsError[]): void {
  if (list === undefined || list === null) return;
  if (!Array.isArray(list)) {
    problems.push(problem(ErrorCodes.TypeMismatch, path, `must be a list of strings, not ${describe(list)}`));
    return;
  }
  list.forEach((item, i) => {
    if (typeof item !== 'string') {
      problems.push(
        problem(ErrorCodes.TypeMismatch, [...path, i], `must be a string, not ${describe(item)}`),
      );
    }
  });
}

function checkObjectList(
  list: unknown,
  path: FieldPathSegment[],
  problems: GitOpsError[],
  required: string[],
): void {
  if (list === undefined || list === null) return;
  if (!Array.isArray(list)) {
    problems.push(problem(ErrorCodes.TypeMismatch, path, `must be a list, not ${describe(list)}`));
    return;
  }
  list.forEach((item, i) => {
    if (!isPlainObject(item)) {
      problems.push(problem(ErrorCodes.TypeMismatch, [...path, i], `must be a map, not ${describe(item)}`));
      return;
    }
    for (const field of required) {
      if (typeof item[field] !== 'string' || item[field] === '') {
        problems.push(
          problem(ErrorCodes.Invalid, [...path, i, field], 'required field is missing or not a string'),
        );
      }
    }
  });
}

/**
 * The checks for an object of a kind the scheme does not know: apiVersion (MissingApiVersion,
 * InvalidApiVersion), kind (MissingKind), metadata (TypeMismatch) and its name (MissingName),
 * plus ObjectMeta's rules. A List (`kind: List` or `*List` with items) needs no name; its items
 * are checked one by one once the decoder expands them. Returns every problem; an empty list
 * means the object is acceptable.
 */
export function validateUnstructured(obj: unknown, options: ValidateOptions = {}): GitOpsError[] {
  if (!isPlainObject(obj)) {
    return [
      new GitOpsError(ErrorCodes.NotAnObject, `expected a Kubernetes object (a map), got ${describe(obj)}`),
    ];
  }
  const problems: GitOpsError[] = [];
  const { apiVersion, kind } = obj;
  if (apiVersion === undefined || apiVersion === null || apiVersion === '') {
    problems.push(
      problem(ErrorCodes.MissingApiVersion, ['apiVersion'], 'the object has no apiVersion (e.g. "apps/v1")'),
    );
  } else if (typeof apiVersion !== 'string') {
    problems.push(
      problem(ErrorCodes.InvalidApiVersion, ['apiVersion'], `must be a string, not ${describe(apiVersion)}`),
    );
  } else {
    try {
      parseApiVersion(apiVersion);
    } catch (err) {
      problems.push(err as GitOpsError);
    }
  }
  if (kind === undefined || kind === null || kind === '') {
    problems.push(problem(ErrorCodes.MissingKind, ['kind'], 'the object has no kind (e.g. "Deployment")'));
  } else if (typeof kind !== 'string') {
    problems.push(problem(ErrorCodes.TypeMismatch, ['kind'], `must be a string, not ${describe(kind)}`));
  }
  if (isList(obj)) {
    // A List's metadata is ListMeta (no name); its items are checked one by one once expanded.
    if (obj.metadata !== undefined && obj.metadata !== null && !isPlainObject(obj.metadata)) {
      problems.push(
        problem(ErrorCodes.TypeMismatch, ['metadata'], `must be a map, not ${describe(obj.metadata)}`),
      );
    }
    return problems;
  }
  const pathSegmentName =
    typeof apiVersion === 'string' &&
    typeof kind === 'string' &&
    PATH_SEGMENT_NAMES.has(
      `${apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : ''}/${kind}`,
    );
  problems.push(...validateObjectMeta(obj.metadata, { strict: options.strict, pathSegmentName }));
  if (typeof apiVersion === 'string' && typeof kind === 'string' && isPlainObject(obj.metadata)) {
    const name = obj.metadata.name;
    if (typeof name === 'string' && name !== '') {
      const why = builtinNameProblem(apiVersion, kind, name);
      if (why !== undefined) problems.push(problem(ErrorCodes.Invalid, ['metadata', 'name'], why));
    }
  }
  return problems;
}

const DNS_1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
/**
 * Kinds whose names are only path segments (checked for every object already): RBAC's, and a
 * PodDisruptionBudget's (the policy group validates no more; test/runtime/names-server.test.ts).
 */
const PATH_SEGMENT_NAMES = new Set([
  'policy/PodDisruptionBudget',
  'rbac.authorization.k8s.io/Role',
  'rbac.authorization.k8s.io/ClusterRole',
  'rbac.authorization.k8s.io/RoleBinding',
  'rbac.authorization.k8s.io/ClusterRoleBinding',
]);

/**
 * Why `name` is not a valid name for a built-in kind, by the API server's rules: a Namespace's
 * is a DNS-1123 label, a Service's a DNS-1035 label (a letter first), RBAC and
 * PodDisruptionBudget names are path segments, every other built-in kind's a DNS-1123 subdomain. Undefined for a good name and
 * for kinds that are not built in (their CRD decides).
 */
export function builtinNameProblem(apiVersion: string, kind: string, name: string): string | undefined {
  let group: string;
  try {
    group = parseApiVersion(apiVersion).group;
  } catch {
    return undefined;
  }
  if (builtinIsNamespaced({ group, kind }) === undefined) return undefined;
  if (PATH_SEGMENT_NAMES.has(`${group}/${kind}`)) return undefined;
  const shown = JSON.stringify(name);
  if (group === '' && kind === 'Namespace' && (name.length > 63 || !DNS_LABEL.test(name)))
    return `${shown} is not a valid Namespace name: at most 63 lowercase letters, digits and "-", alphanumeric at both ends`;
  if (group === '' && kind === 'Service' && (name.length > 63 || !DNS_1035_LABEL.test(name)))
    return `${shown} is not a valid Service name: at most 63 lowercase letters, digits and "-", starting with a letter`;
  if (name.length > 253 || !DNS_SUBDOMAIN.test(name))
    return `${shown} is not a valid ${kind} name: lowercase letters, digits, "-" and ".", alphanumeric at both ends (a DNS-1123 subdomain)`;
  return undefined;
}
