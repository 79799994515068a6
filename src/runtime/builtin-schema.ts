/**
 * Kubernetes' built-in kinds known offline: their schemas for each bundled minor version
 * (generated from the API server's OpenAPI v3 and the Go types by scripts/gen-builtin-schemas.ts
 * into builtin-schemas.json), read on the first validation of a built-in kind, and the check of an
 * object against them as the API server decodes and validates it:
 * - every field's type, as Go's JSON decoding into the typed struct refuses a wrong one (integers
 *   in their int32/int64 range, quantities by resource.Quantity's grammar, int-or-string, RFC 3339
 *   times, base64 bytes); `null` is accepted anywhere (it decodes to the zero value);
 * - unknown fields at every depth (strict only), with "did you mean";
 * - required fields and string enums (an empty string is taken as unset, as the API server's
 *   defaulting takes it), except where the API server does not validate (LENIENT: the top-level
 *   `status`, which it resets on create, and a StatefulSet's pod template spec).
 * `metadata` at the top is left to validateUnstructured (ObjectMeta's rules and names).
 */
import { readFileSync } from 'node:fs';

import { ErrorCodes, GitOpsError } from './errors.js';
import type { FieldPathSegment } from './field-path.js';
import { describe, problemAt, unknownFieldProblem } from './schema.js';
import { isPlainObject } from './types.js';

/** The Kubernetes minor versions whose built-in kinds are bundled, oldest first. */
export const BUILTIN_KUBE_VERSIONS = ['1.30', '1.31', '1.32', '1.33', '1.34'] as const;
export type BuiltinKubeVersion = (typeof BUILTIN_KUBE_VERSIONS)[number];
/** The version used when none is chosen: the newest bundled. */
export const DEFAULT_KUBE_VERSION: BuiltinKubeVersion = '1.34';

interface TypeDef {
  p: Record<string, string>;
  r?: string[];
}

interface BundleFile {
  releases: Record<string, string>;
  versions: Record<string, { kinds: Record<string, string | null>; types: Record<string, number | null> }>;
  defs: TypeDef[];
}

/** A field's type, parsed from its code once. */
type Node =
  | { k: 'list' | 'map'; of: Node }
  | { k: 'ref'; name: string }
  | { k: 'enum'; values: Set<string>; list: string }
  | { k: 's' | 'b' | 'i32' | 'i' | 'n' | 'q' | 'is' | 't' | 'y' | 'a' };

interface CompiledType {
  props: Map<string, Node>;
  required: readonly string[];
  names: string[];
}

/** One version's built-in kinds and types. */
export class BuiltinSchemaSet {
  readonly version: BuiltinKubeVersion;
  /** The Kubernetes release the schemas were generated from, e.g. `1.32.13`. */
  readonly release: string;
  readonly #kinds: Map<string, string>;
  readonly #defs: Map<string, TypeDef>;
  readonly #groups: Set<string>;
  readonly #compiled = new Map<string, CompiledType>();

  constructor(
    version: BuiltinKubeVersion,
    release: string,
    kinds: Map<string, string>,
    defs: Map<string, TypeDef>,
  ) {
    this.version = version;
    this.release = release;
    this.#kinds = kinds;
    this.#defs = defs;
    this.#groups = new Set([...kinds.keys()].map((k) => k.split('/').slice(0, -2).join('/')));
  }

  /** Whether group/version/kind is a built-in kind of this version. */
  has(group: string, version: string, kind: string): boolean {
    return this.#kinds.has(gvkKey(group, version, kind));
  }

  /** Whether the group is one of Kubernetes' own (served by the API server itself). */
  hasGroup(group: string): boolean {
    return this.#groups.has(group);
  }

  /** The versions of a built-in group/kind in this Kubernetes version. */
  versionsOf(group: string, kind: string): string[] {
    const prefix = group === '' ? '' : `${group}/`;
    return [...this.#kinds.keys()]
      .filter(
        (k) =>
          k.startsWith(prefix) && k.endsWith(`/${kind}`) && k.split('/').length === (group === '' ? 2 : 3),
      )
      .map((k) => k.split('/').at(-2)!);
  }

  /** The type of a built-in kind's objects (e.g. `apps.v1.Deployment`), undefined when unknown. */
  typeOf(group: string, version: string, kind: string): string | undefined {
    return this.#kinds.get(gvkKey(group, version, kind));
  }

  /**
   * A type's fields, each with its type code (`s`, `i32`, `q`, `[]core.v1.Container`, `=A|B`...:
   * see scripts/gen-builtin-schemas.ts), and its required fields; undefined for an unknown type.
   */
  fields(
    name: string,
  ): { properties: Readonly<Record<string, string>>; required: readonly string[] } | undefined {
    const def = this.#defs.get(name);
    return def === undefined ? undefined : { properties: def.p, required: def.r ?? [] };
  }

  /** Every problem of a built-in object (an unknown kind has none here). */
  validate(
    obj: Record<string, unknown>,
    group: string,
    version: string,
    kind: string,
    strict: boolean,
  ): GitOpsError[] {
    const name = this.#kinds.get(gvkKey(group, version, kind));
    if (name === undefined) return [];
    const problems: GitOpsError[] = [];
    const type = this.#type(name);
    this.#checkStruct(obj, type, [], { strict, problems, lenient: false, kind: `${group}/${kind}` }, true);
    return problems;
  }

  #type(name: string): CompiledType {
    let compiled = this.#compiled.get(name);
    if (compiled === undefined) {
      const def = this.#defs.get(name);
      const props = new Map<string, Node>();
      for (const [field, code] of Object.entries(def?.p ?? {})) props.set(field, parseCode(code));
      compiled = { props, required: def?.r ?? [], names: [...props.keys()] };
      this.#compiled.set(name, compiled);
    }
    return compiled;
  }

  // `path` is one array for the whole walk, pushed and popped on the way down and back; a problem
  // takes a copy.
  #checkStruct(
    value: Record<string, unknown>,
    type: CompiledType,
    path: FieldPathSegment[],
    walk: Walk,
    root: boolean,
  ): void {
    for (const key in value) {
      if (root && key === 'metadata') continue;
      const child = value[key];
      const node = type.props.get(key);
      path.push(key);
      if (node === undefined) {
        if (walk.strict) walk.problems.push(unknownFieldProblem([...path], key, type.names));
      } else if (child !== null && child !== undefined) {
        const inner =
          !walk.lenient && path.length <= 3 && isLenient(walk.kind, path) ? { ...walk, lenient: true } : walk;
        this.#check(child, node, path, inner);
      }
      path.pop();
    }
    if (walk.lenient) return;
    for (const field of type.required) {
      if (value[field] === undefined || value[field] === null)
        walk.problems.push(problemAt(ErrorCodes.Invalid, [...path, field], 'required field is missing'));
    }
  }

  #check(value: unknown, node: Node, path: FieldPathSegment[], walk: Walk): void {
    switch (node.k) {
      case 'a':
        return;
      case 'ref': {
        if (!isPlainObject(value)) return mismatch(walk, path, 'object', value);
        this.#checkStruct(value, this.#type(node.name), path, walk, false);
        return;
      }
      case 'list': {
        if (!Array.isArray(value)) return mismatch(walk, path, 'array', value);
        for (let i = 0; i < value.length; i++) {
          const item: unknown = value[i];
          if (item === null) continue;
          path.push(i);
          this.#check(item, node.of, path, walk);
          path.pop();
        }
        return;
      }
      case 'map': {
        if (!isPlainObject(value)) return mismatch(walk, path, 'object', value);
        for (const key in value) {
          const item = value[key];
          if (item === null) continue;
          path.push(key);
          this.#check(item, node.of, path, walk);
          path.pop();
        }
        return;
      }
      case 'enum': {
        if (typeof value !== 'string') return mismatch(walk, path, 'string', value);
        if (!walk.lenient && value !== '' && !node.values.has(value)) {
          walk.problems.push(
            problemAt(
              ErrorCodes.Invalid,
              [...path],
              `unsupported value ${describe(value)}: supported values: ${node.list}`,
            ),
          );
        }
        return;
      }
      case 's':
        if (typeof value !== 'string') mismatch(walk, path, 'string', value);
        return;
      case 'b':
        if (typeof value !== 'boolean') mismatch(walk, path, 'boolean', value);
        return;
      case 'n':
        if (typeof value !== 'number' && typeof value !== 'bigint') mismatch(walk, path, 'number', value);
        return;
      case 'i32':
      case 'i': {
        const bits = node.k === 'i32' ? 32 : 64;
        if (!isInteger(value)) return mismatch(walk, path, 'integer', value);
        if (!inRange(value, bits)) {
          walk.problems.push(
            problemAt(
              ErrorCodes.TypeMismatch,
              [...path],
              `${String(value)} does not fit in a ${bits}-bit integer`,
            ),
          );
        }
        return;
      }
      case 'is':
        if (typeof value === 'string') return;
        if (!isInteger(value)) return mismatch(walk, path, 'an integer or a string', value);
        if (!inRange(value, 32))
          walk.problems.push(
            problemAt(
              ErrorCodes.TypeMismatch,
              [...path],
              `${String(value)} does not fit in a 32-bit integer`,
            ),
          );
        return;
      case 'q':
        if (typeof value === 'number' || typeof value === 'bigint') return;
        if (typeof value !== 'string')
          return mismatch(walk, path, 'a quantity (a string such as "500m" or "1Gi", or a number)', value);
        if (!isQuantity(value)) {
          walk.problems.push(
            problemAt(
              ErrorCodes.Invalid,
              [...path],
              `${describe(value)} is not a quantity: quantities must match the regular expression ` +
                `'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'`,
            ),
          );
        }
        return;
      case 't':
        if (typeof value !== 'string') return mismatch(walk, path, 'string', value);
        if (!isRfc3339(value))
          walk.problems.push(
            problemAt(ErrorCodes.Invalid, [...path], `${describe(value)} is not an RFC 3339 time`),
          );
        return;
      case 'y':
        if (typeof value !== 'string') return mismatch(walk, path, 'string', value);
        if (!isBase64(value))
          walk.problems.push(
            problemAt(ErrorCodes.Invalid, [...path], `${describe(value)} is not base64 data`),
          );
        return;
    }
  }
}

interface Walk {
  strict: boolean;
  problems: GitOpsError[];
  /** Where the API server validates nothing (see LENIENT): types and fields only. */
  lenient: boolean;
  /** group/kind of the object. */
  kind: string;
}

/**
 * Where the API server decodes but does not validate, so required fields and enum values are not
 * checked there: every kind's top-level status (reset on create), and a StatefulSet's pod
 * template spec (its Pods are validated when they are made; test/cli/validate-server.test.ts).
 */
const LENIENT: Record<string, string[]> = { 'apps/StatefulSet': ['status', 'spec.template.spec'] };

/** A problem: `value` at `path` is not of the `expected` type. */
function mismatch(walk: Walk, path: FieldPathSegment[], expected: string, value: unknown): void {
  walk.problems.push(
    problemAt(ErrorCodes.TypeMismatch, [...path], `must be ${expected}, not ${describe(value)}`),
  );
}

function isLenient(kind: string, path: FieldPathSegment[]): boolean {
  const at = path.join('.');
  return at === 'status' || (LENIENT[kind]?.includes(at) ?? false);
}

function gvkKey(group: string, version: string, kind: string): string {
  return group === '' ? `${version}/${kind}` : `${group}/${version}/${kind}`;
}

const PRIMITIVES = new Set(['s', 'b', 'i32', 'i', 'n', 'q', 'is', 't', 'y', 'a']);

function parseCode(code: string): Node {
  if (code.startsWith('[]')) return { k: 'list', of: parseCode(code.slice(2)) };
  if (code.startsWith('{}')) return { k: 'map', of: parseCode(code.slice(2)) };
  if (code.startsWith('=')) {
    const values = code.slice(1).split('|');
    return { k: 'enum', values: new Set(values), list: values.map((v) => JSON.stringify(v)).join(', ') };
  }
  if (PRIMITIVES.has(code)) return { k: code } as Node;
  return { k: 'ref', name: code };
}

function isInteger(value: unknown): value is number | bigint {
  return typeof value === 'bigint' || (typeof value === 'number' && Number.isInteger(value));
}

function inRange(value: number | bigint, bits: 32 | 64): boolean {
  const big = typeof value === 'bigint' ? value : BigInt(value);
  const limit = 1n << BigInt(bits - 1);
  return big >= -limit && big < limit;
}

// resource.Quantity's grammar: a signed decimal number, then a binary-SI, decimal-SI or exponent suffix.
const QUANTITY = /^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[KMGTPE]i|[numkMGTPE]|[eE][+-]?[0-9]+)?$/;

/** Whether `text` parses as a Kubernetes resource.Quantity. */
export function isQuantity(text: string): boolean {
  return QUANTITY.test(text);
}

// Go's time.RFC3339 as metav1.Time reads it: an upper-case T and Z, fractional seconds allowed.
function isRfc3339(s: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-](\d{2}):(\d{2}))$/.exec(s);
  if (m === null) return false;
  const [month, day, hour, minute, second] = [m[2], m[3], m[4], m[5], m[6]].map(Number) as number[];
  return (
    month! >= 1 && month! <= 12 && day! >= 1 && day! <= 31 && hour! <= 23 && minute! <= 59 && second! <= 59
  );
}

function isBase64(s: string): boolean {
  // Go's standard encoding with padding; line breaks are ignored as encoding/base64 does.
  return /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(s.replace(/[\r\n]/g, ''));
}

let bundle: BundleFile | undefined;
const sets = new Map<string, BuiltinSchemaSet>();

/** Whether `version` is a bundled Kubernetes minor version ("1.32"). */
export function isBuiltinKubeVersion(version: string): version is BuiltinKubeVersion {
  return (BUILTIN_KUBE_VERSIONS as readonly string[]).includes(version);
}

/**
 * The built-in kinds of one Kubernetes minor version (`1.32`, or a release such as `1.32.13`
 * or `v1.32`); UnknownVersion, listing the bundled ones, for any other. Read from disk once.
 */
export function builtinSchemas(version: string = DEFAULT_KUBE_VERSION): BuiltinSchemaSet {
  const minor = normalizeKubeVersion(version);
  const cached = sets.get(minor);
  if (cached !== undefined) return cached;
  bundle ??= JSON.parse(
    readFileSync(new URL('./builtin-schemas.json', import.meta.url), 'utf8'),
  ) as BundleFile;
  const kinds = new Map<string, string>();
  const types = new Map<string, number>();
  // Each version is the one before it plus its changes.
  for (const v of BUILTIN_KUBE_VERSIONS) {
    const delta = bundle.versions[v]!;
    for (const [k, name] of Object.entries(delta.kinds)) {
      if (name === null) kinds.delete(k);
      else kinds.set(k, name);
    }
    for (const [name, index] of Object.entries(delta.types)) {
      if (index === null) types.delete(name);
      else types.set(name, index);
    }
    if (v === minor) break;
  }
  const defs = new Map([...types].map(([name, index]) => [name, bundle!.defs[index]!]));
  const set = new BuiltinSchemaSet(minor, bundle.releases[minor]!, kinds, defs);
  sets.set(minor, set);
  return set;
}

/** `1.32`, `v1.32` and `1.32.13` name the bundled 1.32; anything else is UnknownVersion. */
export function normalizeKubeVersion(version: string): BuiltinKubeVersion {
  const m = /^v?(\d+)\.(\d+)(?:\.\d+)?$/.exec(version.trim());
  const minor = m === null ? version : `${m[1]}.${m[2]}`;
  if (isBuiltinKubeVersion(minor)) return minor;
  throw new GitOpsError(
    ErrorCodes.UnknownVersion,
    `Kubernetes ${JSON.stringify(version)} is not bundled; known versions: ${BUILTIN_KUBE_VERSIONS.join(', ')}`,
    { details: { kubeVersion: version, known: [...BUILTIN_KUBE_VERSIONS] } },
  );
}
