/**
 * OpenAPI v3 schemas as CustomResourceDefinitions carry them (`openAPIV3Schema`), checked,
 * translated for ajv, compiled once, and applied the way the API server applies them:
 * structural checks (unknown fields, embedded resources), value validation, defaulting.
 *
 * Kubernetes extensions understood:
 * - `x-kubernetes-int-or-string`: the value is an integer or a string.
 * - `x-kubernetes-preserve-unknown-fields`: fields not in `properties` are kept, not unknown.
 * - `x-kubernetes-embedded-resource`: the value is an object with apiVersion, kind and a
 *   metadata checked by ObjectMeta's rules (no name required).
 * - `x-kubernetes-list-type: set | map` (with `x-kubernetes-list-map-keys`): duplicates are Invalid.
 * - `x-kubernetes-map-type`: accepted, no effect on validation.
 * - `x-kubernetes-validations`: CEL rules are accepted and ignored (there is no CEL engine here;
 *   the API server still enforces them on apply).
 * Patterns are Go RE2 in Kubernetes; `(?i)`-style flags, `\A`, `\z` and POSIX classes are
 * rewritten for JavaScript. A pattern JavaScript still cannot compile is not enforced.
 * A `null` in a field that is not `nullable` is dropped, as the API server drops it, rather
 * than reported.
 */
import { isIPv4, isIPv6 } from 'node:net';
import type { Ajv, AnySchemaObject, ErrorObject, ValidateFunction } from 'ajv';
import { lazyModule } from './lazy-module.js';

const ajvModule = lazyModule<typeof AjvModule>('ajv');
import { ErrorCodes, GitOpsError } from './errors.js';
import type { ErrorCode } from './errors.js';
import { formatFieldPath } from './field-path.js';
import type { FieldPathSegment } from './field-path.js';
import { deepCopy, setOwn } from './json-value.js';
import { containsBigInt, withApproximateNumbers } from './exact-json.js';
import { shareRepeatedSubschemas } from './schema-sharing.js';
import { validateObjectMeta } from './object-meta.js';
import { isPlainObject } from './types.js';
import type * as AjvModule from 'ajv';

export type SchemaType = 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';

/** An OpenAPI v3 schema node as a CRD holds it (apiextensions.k8s.io/v1 JSONSchemaProps). */
export interface JSONSchemaProps {
  type?: SchemaType;
  format?: string;
  title?: string;
  description?: string;
  default?: unknown;
  nullable?: boolean;
  enum?: unknown[];
  maximum?: number;
  exclusiveMaximum?: boolean;
  minimum?: number;
  exclusiveMinimum?: boolean;
  maxLength?: number;
  minLength?: number;
  pattern?: string;
  maxItems?: number;
  minItems?: number;
  uniqueItems?: boolean;
  multipleOf?: number;
  maxProperties?: number;
  minProperties?: number;
  required?: string[];
  items?: JSONSchemaProps;
  allOf?: JSONSchemaProps[];
  oneOf?: JSONSchemaProps[];
  anyOf?: JSONSchemaProps[];
  not?: JSONSchemaProps;
  properties?: Record<string, JSONSchemaProps>;
  additionalProperties?: boolean | JSONSchemaProps;
  example?: unknown;
  externalDocs?: { description?: string; url?: string };
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-embedded-resource'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: 'granular' | 'atomic';
  'x-kubernetes-validations'?: {
    rule: string;
    message?: string;
    messageExpression?: string;
    reason?: string;
  }[];
}

const TYPES = new Set<string>(['object', 'array', 'string', 'integer', 'number', 'boolean']);
const SCHEMA_LISTS = ['allOf', 'anyOf', 'oneOf'] as const;
// Annotations: allowed, but nothing to validate, so they stay out of the compiled schema.
const ANNOTATIONS = new Set(['title', 'description', 'default', 'example', 'externalDocs']);
// Passed to ajv as they are.
const PLAIN_KEYWORDS = new Set([
  'maximum',
  'minimum',
  'maxLength',
  'minLength',
  'maxItems',
  'minItems',
  'uniqueItems',
  'multipleOf',
  'maxProperties',
  'minProperties',
]);
// Forbidden in CRD schemas by the API server.
const FORBIDDEN = new Set([
  '$ref',
  '$schema',
  'id',
  '$id',
  'definitions',
  'dependencies',
  'patternProperties',
  'additionalItems',
]);
const KUBE_EXTENSIONS = new Set([
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-embedded-resource',
  'x-kubernetes-int-or-string',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-map-type',
  'x-kubernetes-validations',
]);

/** Formats validated like the API server does; other formats are ignored, as there. */
const STRING_FORMATS: Record<string, (s: string) => boolean> = {
  byte: (s) => /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(s),
  date: (s) => /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/.test(s),
  'date-time': isDateTime,
  datetime: isDateTime,
  duration: (s) => /^[-+]?(\s*(\d+(\.\d*)?|\.\d+)\s*[a-zµμ]+)+\s*$/i.test(s) || s === '0',
  password: () => true,
  uri: (s) => URL.canParse(s),
  email: (s) => /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(s),
  hostname: (s) =>
    s.length <= 253 &&
    /^[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?)*$/.test(s),
  ipv4: (s) => isIPv4(s),
  ipv6: (s) => isIPv6(s),
  cidr: (s) => {
    const m = /^(.+)\/(\d{1,3})$/.exec(s);
    if (m === null) return false;
    const bits = Number(m[2]);
    return (isIPv4(m[1] ?? '') && bits <= 32) || (isIPv6(m[1] ?? '') && bits <= 128);
  },
  mac: (s) => /^([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}$/.test(s),
  uuid: (s) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s),
  uuid3: (s) => /^[0-9a-f]{8}-[0-9a-f]{4}-3[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s),
  uuid4: (s) => /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i.test(s),
  uuid5: (s) => /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i.test(s),
};

const NUMBER_FORMATS: Record<string, (n: number) => boolean> = {
  int32: (n) => Number.isInteger(n) && n >= -2147483648 && n <= 2147483647,
  // Beyond 2^53 a JS number is already imprecise; only the int64 range can be checked.
  int64: (n) => Number.isInteger(n) && n >= -(2 ** 63) && n < 2 ** 63,
  float: (n) => Number.isFinite(n) && Math.abs(n) <= 3.4028234663852886e38,
  double: (n) => Number.isFinite(n),
};

function isDateTime(s: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/.exec(s);
  if (m === null) return false;
  const [month, day, hour, minute, second] = [m[2], m[3], m[4], m[5], m[6]].map(Number) as number[];
  return (
    month! >= 1 && month! <= 12 && day! >= 1 && day! <= 31 && hour! <= 23 && minute! <= 59 && second! <= 60
  );
}

/** Compiles a Go RE2 pattern as a JavaScript RegExp, rewriting what JavaScript spells differently. */
export function compileKubePattern(pattern: string): RegExp | undefined {
  let flags = '';
  let source = pattern.replace(/\(\?([imsU]+)\)/g, (_all, f: string) => {
    // Inline flags apply from where they are in RE2; here they apply to the whole pattern.
    for (const flag of f) if (flag !== 'U' && !flags.includes(flag)) flags += flag;
    return '';
  });
  source = source
    .replace(/\(\?P</g, '(?<')
    .replace(/\\A/g, '^')
    .replace(/\\z/g, '$')
    .replace(/\[:alpha:\]/g, 'A-Za-z')
    .replace(/\[:digit:\]/g, '0-9')
    .replace(/\[:alnum:\]/g, 'A-Za-z0-9')
    .replace(/\[:upper:\]/g, 'A-Z')
    .replace(/\[:lower:\]/g, 'a-z')
    .replace(/\[:space:\]/g, '\\s')
    .replace(/\[:xdigit:\]/g, '0-9A-Fa-f')
    .replace(/\[:punct:\]/g, '!-\\/:-@\\[-`{-~')
    .replace(/\[:word:\]/g, '\\w');
  try {
    return new RegExp(source, flags);
  } catch {
    return undefined;
  }
}

// ajv calls this for every `pattern`; unsupported patterns match everything (see the header).
const kubeRegExp = Object.assign(
  (pattern: string) =>
    compileKubePattern(pattern) ?? { test: () => true, toString: () => `/${pattern}/ (not enforced)` },
  { code: 'kubeRegExp' },
);

function listTypeKeyword(
  listType: unknown,
  data: unknown,
  parentSchema?: AnySchemaObject,
  dataCxt?: { instancePath?: string },
): boolean {
  const self = listTypeKeyword as { errors?: Partial<ErrorObject>[] };
  self.errors = [];
  if (!Array.isArray(data) || (listType !== 'set' && listType !== 'map')) return true;
  const mapKeys = (parentSchema?.['x-kubernetes-list-map-keys'] as string[] | undefined) ?? [];
  const seen = new Map<string, number>();
  data.forEach((item, i) => {
    const identity =
      listType === 'set'
        ? JSON.stringify(item)
        : JSON.stringify(mapKeys.map((key) => (isPlainObject(item) ? item[key] : undefined) ?? null));
    const first = seen.get(identity);
    if (first === undefined) {
      seen.set(identity, i);
      return;
    }
    self.errors!.push({
      keyword: 'x-kubernetes-list-type',
      instancePath: `${dataCxt?.instancePath ?? ''}/${i}`,
      params: { listType, first, mapKeys },
      message:
        listType === 'set'
          ? `duplicate value: the same item is at index ${first} (x-kubernetes-list-type: set)`
          : `duplicate entry: index ${first} has the same ${mapKeys.join(', ')} (x-kubernetes-list-type: map)`,
    });
  });
  return self.errors.length === 0;
}

// ajv refuses `nullable` without `type`, so an untyped nullable node carries this mark instead.
const UNTYPED_NULLABLE = 'x-libgitops-nullable';

function intOrStringKeyword(enabled: unknown, data: unknown, parentSchema?: AnySchemaObject): boolean {
  if (data === null) return parentSchema?.[UNTYPED_NULLABLE] === true;
  return enabled !== true || typeof data === 'string' || Number.isInteger(data);
}

/** One ajv instance per Scheme, with Kubernetes' formats and x-kubernetes-* keywords. */
export function createSchemaCompiler(): Ajv {
  const ajv = new (ajvModule().Ajv)({
    allErrors: true,
    strict: true,
    strictTypes: false,
    strictTuples: false,
    strictRequired: false,
    // Kubernetes patterns are not unicode-mode JavaScript patterns.
    unicodeRegExp: false,
    validateFormats: true,
    validateSchema: false,
    // Shared subschemas (see schema-sharing.ts) must stay separate functions to be compiled once.
    inlineRefs: false,
    code: { regExp: kubeRegExp },
  });
  for (const [name, validate] of Object.entries(STRING_FORMATS))
    ajv.addFormat(name, { type: 'string', validate });
  for (const [name, validate] of Object.entries(NUMBER_FORMATS))
    ajv.addFormat(name, { type: 'number', validate });
  ajv.addKeyword({
    keyword: 'x-kubernetes-int-or-string',
    schemaType: 'boolean',
    errors: false,
    validate: intOrStringKeyword,
  });
  ajv.addKeyword({
    keyword: 'x-kubernetes-list-type',
    schemaType: 'string',
    errors: true,
    validate: listTypeKeyword,
  });
  for (const keyword of [
    'x-kubernetes-list-map-keys',
    'x-kubernetes-map-type',
    'x-kubernetes-preserve-unknown-fields',
    'x-kubernetes-embedded-resource',
    'x-kubernetes-validations',
    UNTYPED_NULLABLE,
  ]) {
    ajv.addKeyword({ keyword });
  }
  return ajv;
}

function schemaProblem(path: FieldPathSegment[], message: string): GitOpsError {
  const field = formatFieldPath(path);
  return new GitOpsError(ErrorCodes.InvalidSchema, `${field}: ${message}`, {
    details: { field, fieldSegments: path },
  });
}

function isIntOrStringAnyOf(list: unknown): boolean {
  return (
    Array.isArray(list) &&
    list.every(
      (branch) =>
        isPlainObject(branch) &&
        Object.keys(branch).every((k) => k === 'type') &&
        (branch.type === 'integer' || branch.type === 'string'),
    )
  );
}

// The values the API server allows for each x-kubernetes-* extension.
function extensionProblem(key: string, value: unknown): string | undefined {
  switch (key) {
    case 'x-kubernetes-list-type':
      return value === 'atomic' || value === 'set' || value === 'map'
        ? undefined
        : `${key} must be atomic, set or map`;
    case 'x-kubernetes-map-type':
      return value === 'granular' || value === 'atomic' ? undefined : `${key} must be granular or atomic`;
    case 'x-kubernetes-list-map-keys':
      return Array.isArray(value) && value.every((v) => typeof v === 'string')
        ? undefined
        : `${key} must be a list of field names`;
    case 'x-kubernetes-validations':
      return Array.isArray(value) &&
        value.every((rule) => isPlainObject(rule) && typeof rule.rule === 'string')
        ? undefined
        : `${key} must be a list of {rule: <CEL expression>}`;
    default:
      return typeof value === 'boolean' ? undefined : `${key} must be true or false`;
  }
}

/**
 * Checks a schema node and returns the schema ajv compiles. Problems go to `problems`, each at
 * its path inside the manifest that holds the schema (`path`).
 */
function translate(
  node: unknown,
  path: FieldPathSegment[],
  problems: GitOpsError[],
  root: boolean,
): AnySchemaObject {
  if (!isPlainObject(node)) {
    problems.push(schemaProblem(path, 'a schema must be a map'));
    return {};
  }
  const out: AnySchemaObject = {};
  const intOrString = node['x-kubernetes-int-or-string'] === true;
  for (const [key, value] of Object.entries(node)) {
    const at = [...path, key];
    if (ANNOTATIONS.has(key)) continue;
    if (FORBIDDEN.has(key)) {
      problems.push(schemaProblem(at, `"${key}" is not allowed in a CustomResourceDefinition schema`));
    } else if (key === 'type') {
      if (typeof value !== 'string' || !TYPES.has(value)) {
        problems.push(
          schemaProblem(at, `type must be one of ${[...TYPES].join(', ')}, not ${JSON.stringify(value)}`),
        );
      } else out.type = value;
    } else if (key === 'format') {
      if (typeof value !== 'string') problems.push(schemaProblem(at, 'format must be a string'));
      else if (Object.hasOwn(STRING_FORMATS, value) || Object.hasOwn(NUMBER_FORMATS, value))
        out.format = value;
    } else if (key === 'nullable') {
      if (typeof value !== 'boolean') problems.push(schemaProblem(at, 'nullable must be true or false'));
    } else if (key === 'exclusiveMinimum' || key === 'exclusiveMaximum') {
      if (typeof value !== 'boolean')
        problems.push(schemaProblem(at, `${key} must be true or false (OpenAPI v3.0)`));
    } else if (key === 'pattern') {
      if (typeof value !== 'string') problems.push(schemaProblem(at, 'pattern must be a string'));
      else out.pattern = value;
    } else if (key === 'enum') {
      if (!Array.isArray(value)) problems.push(schemaProblem(at, 'enum must be a list'));
      else out.enum = node.nullable === true && !value.includes(null) ? [...value, null] : value;
    } else if (key === 'required') {
      if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
        problems.push(schemaProblem(at, 'required must be a list of field names'));
      } else out.required = value;
    } else if (PLAIN_KEYWORDS.has(key)) {
      if (key === 'uniqueItems' ? typeof value !== 'boolean' : typeof value !== 'number') {
        problems.push(schemaProblem(at, `${key} must be a ${key === 'uniqueItems' ? 'boolean' : 'number'}`));
      } else out[key] = value;
    } else if (key === 'properties') {
      if (!isPlainObject(value)) {
        problems.push(schemaProblem(at, 'properties must be a map of schemas'));
        continue;
      }
      const properties: Record<string, AnySchemaObject> = {};
      for (const [name, child] of Object.entries(value)) {
        // The root's metadata is checked by ObjectMeta's rules, not by the CRD's schema.
        if (root && name === 'metadata') continue;
        setOwn(properties, name, translate(child, [...at, name], problems, false));
      }
      out.properties = properties;
    } else if (key === 'additionalProperties') {
      // `false` needs no ajv check: fields not in properties are UnknownField (strict) or dropped.
      if (isPlainObject(value)) out.additionalProperties = translate(value, at, problems, false);
      else if (typeof value !== 'boolean')
        problems.push(schemaProblem(at, 'additionalProperties must be a schema or a boolean'));
    } else if (key === 'items') {
      if (Array.isArray(value))
        problems.push(schemaProblem(at, 'items must be one schema, not a list (no tuples)'));
      else out.items = translate(value, at, problems, false);
    } else if (key === 'not') {
      out.not = translate(value, at, problems, false);
    } else if ((SCHEMA_LISTS as readonly string[]).includes(key)) {
      if (!Array.isArray(value)) {
        problems.push(schemaProblem(at, `${key} must be a list of schemas`));
      } else if (!(intOrString && key === 'anyOf' && isIntOrStringAnyOf(value))) {
        // The int-or-string keyword already says "integer or string", with one clear message.
        out[key] = value.map((branch, i) => translate(branch, [...at, i], problems, false));
      }
    } else if (KUBE_EXTENSIONS.has(key)) {
      const problem = extensionProblem(key, value);
      if (problem !== undefined) problems.push(schemaProblem(at, problem));
      else out[key] = value;
    } else {
      problems.push(schemaProblem(at, `unknown schema keyword "${key}"`));
    }
  }
  if (node.exclusiveMinimum === true && typeof node.minimum === 'number') {
    out.exclusiveMinimum = node.minimum;
    delete out.minimum;
  }
  if (node.exclusiveMaximum === true && typeof node.maximum === 'number') {
    out.exclusiveMaximum = node.maximum;
    delete out.maximum;
  }
  if (node.nullable === true) {
    if (typeof out.type === 'string') out.nullable = true;
    else out[UNTYPED_NULLABLE] = true;
  }
  if (typeof out.pattern === 'string' && compileKubePattern(out.pattern) === undefined) {
    // Accepted (the API server accepts it) but not enforced: see the header.
    delete out.pattern;
  }
  if (node['x-kubernetes-list-type'] === 'map' && !Array.isArray(node['x-kubernetes-list-map-keys'])) {
    problems.push(
      schemaProblem(
        [...path, 'x-kubernetes-list-map-keys'],
        'x-kubernetes-list-type: map needs x-kubernetes-list-map-keys',
      ),
    );
  }
  return out;
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  const text = JSON.stringify(value);
  return `${typeof value} ${text.length > 60 ? `${text.slice(0, 57)}...` : text}`;
}

export function problemAt(code: ErrorCode, path: FieldPathSegment[], message: string): GitOpsError {
  const field = formatFieldPath(path);
  return new GitOpsError(code, `${field || '.'}: ${message}`, { details: { field, fieldSegments: path } });
}

/** UnknownField at `path`, suggesting the closest of the known field names. */
export function unknownFieldProblem(
  path: FieldPathSegment[],
  key: string,
  known: Iterable<string>,
): GitOpsError {
  const suggestion = closest(key, known);
  return problemAt(
    ErrorCodes.UnknownField,
    path,
    `unknown field ${JSON.stringify(key)}` +
      (suggestion === undefined ? '' : `; did you mean ${JSON.stringify(suggestion)}?`),
  );
}

/** The closest name within two edits, to suggest for a misspelt field. */
function closest(name: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of candidates) {
    const d = editDistance(name.toLowerCase(), candidate.toLowerCase(), bestDistance);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) >= limit) return limit;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j]! + 1,
        current[j - 1]! + 1,
        previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length]!;
}

interface StructureWalk {
  strict: boolean;
  problems: GitOpsError[];
  /** Paths of nulls in non-nullable fields: the API server drops them before validating. */
  nulls: FieldPathSegment[][];
}

const EMBEDDED_FIELDS = new Set(['apiVersion', 'kind', 'metadata']);

// What ajv cannot see: unknown fields (pruning), embedded objects' metadata, droppable nulls.
function walkStructure(
  value: unknown,
  schema: JSONSchemaProps,
  path: FieldPathSegment[],
  walk: StructureWalk,
  root: boolean,
): void {
  if (Array.isArray(value)) {
    const items = schema.items;
    if (isPlainObject(items))
      value.forEach((item, i) => walkStructure(item, items, [...path, i], walk, false));
    return;
  }
  if (!isPlainObject(value)) return;
  const properties = isPlainObject(schema.properties) ? schema.properties : undefined;
  const additional = schema.additionalProperties;
  const embedded = schema['x-kubernetes-embedded-resource'] === true;
  const keepsUnknown =
    schema['x-kubernetes-preserve-unknown-fields'] === true ||
    additional === true ||
    (properties === undefined && additional === undefined && schema.type !== 'object');
  if (embedded) {
    walk.problems.push(
      ...validateObjectMeta(value.metadata, { strict: walk.strict, requireName: false }, [
        ...path,
        'metadata',
      ]),
    );
  }
  for (const [key, child] of Object.entries(value)) {
    if ((root || embedded) && key === 'metadata') continue;
    const own = properties !== undefined && Object.prototype.hasOwnProperty.call(properties, key);
    const childSchema = own ? properties[key] : isPlainObject(additional) ? additional : undefined;
    if (childSchema !== undefined) {
      if (child === null && childSchema.nullable !== true) walk.nulls.push([...path, key]);
      else walkStructure(child, childSchema, [...path, key], walk, false);
    } else if (walk.strict && !keepsUnknown && !((root || embedded) && EMBEDDED_FIELDS.has(key))) {
      walk.problems.push(unknownFieldProblem([...path, key], key, Object.keys(properties ?? {})));
    }
  }
}

// Removes the fields at `paths` from a copy of `obj`, copying only the maps on the way.
function withoutFields(obj: Record<string, unknown>, paths: FieldPathSegment[][]): Record<string, unknown> {
  const copy = deepCopy(obj);
  for (const path of paths) {
    let parent: unknown = copy;
    for (const segment of path.slice(0, -1)) parent = (parent as Record<string | number, unknown>)[segment];
    if (isPlainObject(parent)) delete parent[path[path.length - 1] as string];
  }
  return copy;
}

/** The value at an ajv instancePath, and the path as segments (numbers for list indexes). */
function resolvePointer(obj: unknown, pointer: string): { segments: FieldPathSegment[]; value: unknown } {
  const segments: FieldPathSegment[] = [];
  let value = obj;
  if (pointer === '') return { segments, value };
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(value)) {
      const index = Number(key);
      segments.push(index);
      value = value[index];
    } else {
      segments.push(key);
      value = isPlainObject(value) ? value[key] : undefined;
    }
  }
  return { segments, value };
}

function ajvProblem(error: ErrorObject, obj: unknown): GitOpsError {
  const { segments, value } = resolvePointer(obj, error.instancePath);
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'type':
      return problemAt(
        ErrorCodes.TypeMismatch,
        segments,
        `must be ${String(params.type)}, not ${describe(value)}`,
      );
    case 'x-kubernetes-int-or-string':
      return problemAt(
        ErrorCodes.TypeMismatch,
        segments,
        `must be an integer or a string, not ${describe(value)}`,
      );
    case 'required':
      return problemAt(
        ErrorCodes.Invalid,
        [...segments, String(params.missingProperty)],
        'required field is missing',
      );
    case 'enum':
      return problemAt(
        ErrorCodes.Invalid,
        segments,
        `unsupported value ${describe(value)}: supported values: ${(params.allowedValues as unknown[])
          .map((v) => JSON.stringify(v))
          .join(', ')}`,
      );
    case 'format':
      return problemAt(
        ErrorCodes.Invalid,
        segments,
        `${describe(value)} is not a valid ${String(params.format)}`,
      );
    case 'pattern':
      return problemAt(
        ErrorCodes.Invalid,
        segments,
        `${describe(value)} does not match the pattern ${String(params.pattern)}`,
      );
    default:
      return problemAt(
        ErrorCodes.Invalid,
        segments,
        error.message ?? `fails the schema's "${error.keyword}" rule`,
      );
  }
}

// Turns ajv's errors into ours, folding the per-branch errors of anyOf/oneOf into one.
function toProblems(errors: readonly ErrorObject[], obj: unknown): GitOpsError[] {
  const junctions = errors.filter((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf');
  const problems: GitOpsError[] = [];
  const seen = new Set<string>();
  for (const error of errors) {
    const inBranch = junctions.find((j) => j !== error && error.schemaPath.startsWith(`${j.schemaPath}/`));
    if (inBranch !== undefined) continue;
    let problem: GitOpsError;
    if (error.keyword === 'anyOf' || error.keyword === 'oneOf') {
      const branches = errors
        .filter((e) => e.schemaPath.startsWith(`${error.schemaPath}/`))
        .map((e) => ajvProblem(e, obj).message);
      const { segments } = resolvePointer(obj, error.instancePath);
      const which = error.keyword === 'anyOf' ? 'any' : 'exactly one';
      problem = problemAt(
        ErrorCodes.Invalid,
        segments,
        `must match ${which} of the schema's alternatives (${error.keyword})` +
          (branches.length > 0 ? `: ${[...new Set(branches)].join('; or ')}` : ''),
      );
    } else {
      problem = ajvProblem(error, obj);
    }
    const id = `${problem.code} ${problem.message}`;
    if (!seen.has(id)) {
      seen.add(id);
      problems.push(problem);
    }
  }
  return problems;
}

/**
 * One kind version's schema: checked when created, compiled on first use and then reused.
 * Throws InvalidSchema (with every problem in `causes`) when the schema is not acceptable.
 */
export class KindSchema {
  readonly source: JSONSchemaProps;
  readonly #compiler: Ajv;
  readonly #translated: AnySchemaObject;
  #validate: ValidateFunction | GitOpsError | undefined;

  constructor(compiler: Ajv, schema: unknown, path: FieldPathSegment[] = []) {
    const problems: GitOpsError[] = [];
    const translated = translate(schema, path, problems, true);
    if (problems.length > 0) {
      throw new GitOpsError(
        ErrorCodes.InvalidSchema,
        `the schema has ${problems.length} problem(s); first: ${problems[0]!.message}`,
        { details: problems[0]!.details, causes: problems },
      );
    }
    this.#compiler = compiler;
    this.#translated = translated;
    this.source = schema as JSONSchemaProps;
  }

  /** Compiles now rather than on first validation (e.g. to surface ajv's own complaints early). */
  compile(): ValidateFunction {
    if (this.#validate === undefined) {
      try {
        this.#validate = this.#compiler.compile(shareRepeatedSubschemas(this.#translated));
      } catch (err) {
        this.#validate = new GitOpsError(
          ErrorCodes.InvalidSchema,
          `the schema cannot be compiled: ${(err as Error).message}`,
          {
            cause: err,
          },
        );
      }
    }
    if (this.#validate instanceof GitOpsError) throw this.#validate;
    return this.#validate;
  }

  /** Every problem of `obj` against the schema; metadata is left to ObjectMeta's rules. */
  validate(obj: Record<string, unknown>, strict: boolean): GitOpsError[] {
    let validate: ValidateFunction;
    try {
      validate = this.compile();
    } catch (err) {
      return [err as GitOpsError];
    }
    const walk: StructureWalk = { strict, problems: [], nulls: [] };
    walkStructure(obj, this.source, [], walk, true);
    let subject = walk.nulls.length > 0 ? withoutFields(obj, walk.nulls) : obj;
    if (validate(subject)) return walk.problems;
    // An integer beyond 2^53 is a bigint, which JSON Schema's checks do not know: check it as
    // the nearest number (type, minimum and maximum come out the same).
    if (containsBigInt(subject)) {
      subject = withApproximateNumbers(subject);
      if (validate(subject)) return walk.problems;
    }
    return [...walk.problems, ...toProblems(validate.errors ?? [], subject)];
  }

  /** Applies the schema's defaults to `obj` in place, as the API server does. */
  applyDefaults(obj: Record<string, unknown>): void {
    applyDefaults(obj, this.source, true);
  }
}

// Defaults fill absent (or dropped-null) fields of maps that exist, top-down, so a defaulted
// map gets its own fields' defaults too.
function applyDefaults(value: unknown, schema: JSONSchemaProps, root: boolean): void {
  if (Array.isArray(value)) {
    const items = schema.items;
    if (isPlainObject(items)) for (const item of value) applyDefaults(item, items, false);
    return;
  }
  if (!isPlainObject(value)) return;
  const properties = isPlainObject(schema.properties) ? schema.properties : undefined;
  if (properties !== undefined) {
    for (const [key, child] of Object.entries(properties)) {
      if (root && key === 'metadata') continue;
      const current = Object.prototype.hasOwnProperty.call(value, key) ? value[key] : undefined;
      const absent = current === undefined || (current === null && child.nullable !== true);
      if (absent && child.default !== undefined) setOwn(value, key, deepCopy(child.default));
      else if (current === null && child.nullable !== true) delete value[key];
    }
  }
  const additional = isPlainObject(schema.additionalProperties) ? schema.additionalProperties : undefined;
  for (const [key, child] of Object.entries(value)) {
    if (root && key === 'metadata') continue;
    const own = properties !== undefined && Object.prototype.hasOwnProperty.call(properties, key);
    const childSchema = own ? properties[key] : additional;
    if (childSchema === undefined) continue;
    if (child === null && childSchema.nullable !== true) delete value[key];
    else applyDefaults(child, childSchema, false);
  }
}
