/**
 * The Scheme: which kinds exist, in which versions, with which schema; how to validate,
 * default and convert their objects. Kinds it does not know are "unstructured": they get the
 * checks of validateUnstructured and pass through defaulting unchanged.
 *
 * Conversion is hub and spoke: each kind has a hub version (its storage version unless set
 * with setHubVersion), and each other version converts to and from the hub. A kind registered
 * from a CRD whose conversion strategy is `None` (the CRD default) converts like the API server
 * does: only apiVersion changes, unless a converter is added for that version.
 */
import { DEFAULT_KUBE_VERSION, builtinSchemas, normalizeKubeVersion } from './builtin-schema.js';
import type { BuiltinKubeVersion, BuiltinSchemaSet } from './builtin-schema.js';
import { builtinIsNamespaced } from './builtin-scopes.js';
import { ErrorCodes, GitOpsError } from './errors.js';
import { formatFieldPath } from './field-path.js';
import type { FieldPathSegment } from './field-path.js';
import {
  compareVersions,
  formatApiVersion,
  groupKindToString,
  gvkOf,
  isValidGroup,
  isValidVersion,
  parseApiVersion,
} from './gvk.js';
import type { GroupKind, GroupVersionKind } from './gvk.js';
import { deepCopy, deepEqual } from './json-value.js';
import { keyOf, objectKeyToString } from './object-key.js';
import { validateUnstructured } from './object-meta.js';
import type { ValidateOptions } from './object-meta.js';
import { KindSchema, createSchemaCompiler } from './schema.js';
import type { JSONSchemaProps } from './schema.js';
import { isPlainObject } from './types.js';
import type { KubeObject } from './types.js';

export type Scope = 'Namespaced' | 'Cluster';

/** One version of one kind. */
export interface KindDefinition {
  group: string;
  version: string;
  kind: string;
  /** The resource name in URLs; guessed from the kind as Kubernetes does when absent. */
  plural?: string;
  /** Defaults to `<kind>List`. */
  listKind?: string;
  scope: Scope;
  /** OpenAPI v3, as a CRD's `openAPIV3Schema`. Without one, only ObjectMeta rules apply. */
  schema?: JSONSchemaProps;
  /** Defaults to true. */
  served?: boolean;
  /** Whether this version is the one stored; at most one version of a kind may be. */
  storage?: boolean;
  subresources?: { status?: boolean };
}

/** Everything the scheme knows about one kind, across its versions. */
export interface KindInfo {
  group: string;
  kind: string;
  plural: string;
  listKind: string;
  scope: Scope;
  /** Highest priority first (v1, v1beta1, v1alpha1, ...). */
  versions: KindDefinition[];
  storageVersion?: string;
  hubVersion: string;
}

/** Converts one (non-hub) version of a kind to the hub version and back. */
export interface Converter {
  toHub(obj: KubeObject): KubeObject;
  fromHub(hub: KubeObject): KubeObject;
}

/** Fills in defaults; may change `obj` in place or return a new object. */
export type Defaulter = (obj: KubeObject) => KubeObject | void;

interface KindEntry {
  group: string;
  kind: string;
  versions: Map<string, { definition: KindDefinition; schema?: KindSchema }>;
  hub?: string;
  /** `None` converts by rewriting apiVersion when no converter is registered. */
  conversionStrategy?: 'None' | 'Webhook';
}

const gkId = (group: string, kind: string): string => `${group}/${kind}`;
const gvkId = (gvk: GroupVersionKind): string => `${gvk.group}/${gvk.version}/${gvk.kind}`;

/** How Kubernetes guesses a resource name from a kind (k8s.io/apimachinery's UnsafeGuessKindToResource). */
export function guessPlural(kind: string): string {
  const lower = kind.toLowerCase();
  if (lower.endsWith('s')) return `${lower}es`;
  if (lower.endsWith('y')) return `${lower.slice(0, -1)}ies`;
  return `${lower}s`;
}

function invalid(path: FieldPathSegment[], message: string): GitOpsError {
  const field = formatFieldPath(path);
  return new GitOpsError(ErrorCodes.Invalid, `${field}: ${message}`, {
    details: { field, fieldSegments: path },
  });
}

function normalize(def: KindDefinition): KindDefinition {
  const out: KindDefinition = {
    group: def.group,
    version: def.version,
    kind: def.kind,
    plural: def.plural ?? guessPlural(def.kind),
    listKind: def.listKind ?? `${def.kind}List`,
    scope: def.scope,
    served: def.served ?? true,
    storage: def.storage ?? false,
  };
  // The scheme owns its copy: a caller changing its schema later must not change validation.
  if (def.schema !== undefined) out.schema = deepCopy(def.schema);
  if (def.subresources !== undefined) out.subresources = { status: def.subresources.status === true };
  return out;
}

function describeGvk(gvk: GroupVersionKind): string {
  return `${gvk.kind} ${formatApiVersion(gvk)}`;
}

/** How a Scheme knows Kubernetes' built-in kinds. */
export interface SchemeOptions {
  /**
   * The Kubernetes minor version whose built-in kinds are checked (`1.30` to `1.34`; `v1.32` and
   * `1.32.13` are read as `1.32`); default the newest bundled. `false`: built-in kinds are
   * unstructured (metadata and name rules only). Another version is UnknownVersion.
   */
  kubeVersion?: string | false;
}

/** Whether a group may be one of Kubernetes' own (so its schemas are worth loading). */
function mayBeBuiltinGroup(group: string): boolean {
  return group === '' || !group.includes('.') || group.endsWith('.k8s.io');
}

export class Scheme {
  readonly #kinds = new Map<string, KindEntry>();
  readonly #defaulters = new Map<string, Defaulter[]>();
  readonly #converters = new Map<string, Converter>();
  readonly #compiler = createSchemaCompiler();
  readonly #kubeVersion: BuiltinKubeVersion | undefined;
  #builtin: BuiltinSchemaSet | undefined;

  constructor(options: SchemeOptions = {}) {
    // Checked now, loaded on the first validation of a built-in kind.
    this.#kubeVersion =
      options.kubeVersion === false
        ? undefined
        : normalizeKubeVersion(options.kubeVersion ?? DEFAULT_KUBE_VERSION);
  }

  /** The Kubernetes minor version whose built-in kinds this scheme checks, if any. */
  get kubeVersion(): BuiltinKubeVersion | undefined {
    return this.#kubeVersion;
  }

  /**
   * Whether group/version/kind is a built-in kind of this scheme's Kubernetes version (a kind
   * registered here counts as registered, not built-in).
   */
  isBuiltin(gvk: GroupVersionKind): boolean {
    if (this.#kinds.has(gkId(gvk.group, gvk.kind))) return false;
    const set = this.#builtinSet(gvk.group);
    return set !== undefined && set.has(gvk.group, gvk.version, gvk.kind);
  }

  /** Whether the scheme can check more than metadata for objects of `gvk` (registered or built-in). */
  knows(gvk: GroupVersionKind): boolean {
    return this.has(gvk) || this.isBuiltin(gvk);
  }

  #builtinSet(group: string): BuiltinSchemaSet | undefined {
    if (this.#kubeVersion === undefined || !mayBeBuiltinGroup(group)) return undefined;
    return (this.#builtin ??= builtinSchemas(this.#kubeVersion));
  }

  /**
   * Adds one version of a kind. Registering the same definition again does nothing; a different
   * definition for the same group/version/kind, a second storage version, or a scope or plural
   * that disagrees with the kind's other versions is a SchemeConflict.
   */
  register(definition: KindDefinition): KindDefinition {
    const [prepared] = this.#prepare([definition], [['schema']]);
    this.#commit(prepared!);
    return prepared!.definition;
  }

  /**
   * Registers every version of an apiextensions.k8s.io/v1 CustomResourceDefinition manifest
   * (v1beta1 is read too): scope, names, schema with its defaults, storage version, status
   * subresource. A bad CRD is Invalid (or InvalidSchema) with the field path of each problem,
   * and registers nothing.
   */
  registerCRD(crd: unknown): KindDefinition[] {
    const { definitions, conversionStrategy, schemaPaths } = readCRD(crd);
    const prepared = this.#prepare(definitions, schemaPaths);
    for (const p of prepared) this.#commit(p);
    const entry = this.#kinds.get(gkId(definitions[0]!.group, definitions[0]!.kind));
    if (entry !== undefined) entry.conversionStrategy = conversionStrategy;
    return prepared.map((p) => p.definition);
  }

  // Checks every definition (and conflicts among them and with the scheme) before anything changes.
  #prepare(
    definitions: KindDefinition[],
    schemaPaths: FieldPathSegment[][],
  ): { definition: KindDefinition; schema?: KindSchema; fresh: boolean }[] {
    const out: { definition: KindDefinition; schema?: KindSchema; fresh: boolean }[] = [];
    const schemaProblems: GitOpsError[] = [];
    definitions.forEach((raw, i) => {
      const definition = normalize(raw);
      checkDefinition(definition);
      const existing = this.#kinds.get(gkId(definition.group, definition.kind));
      const same = existing?.versions.get(definition.version);
      if (same !== undefined) {
        if (!deepEqual(same.definition, definition)) {
          throw new GitOpsError(
            ErrorCodes.SchemeConflict,
            `${describeGvk(definition)} is already registered with a different definition`,
            { details: { gvk: `${definition.group}/${definition.version}, Kind=${definition.kind}` } },
          );
        }
        out.push({ definition: same.definition, schema: same.schema, fresh: false });
        return;
      }
      const others = [
        ...[...(existing?.versions.values() ?? [])].map((v) => v.definition),
        ...out.map((p) => p.definition),
      ];
      for (const other of others) {
        const clash =
          other.scope !== definition.scope
            ? `scope ${definition.scope} disagrees with ${other.version}'s ${other.scope}`
            : other.plural !== definition.plural
              ? `plural "${definition.plural}" disagrees with ${other.version}'s "${other.plural}"`
              : other.storage === true && definition.storage === true
                ? `${other.version} is already the storage version`
                : undefined;
        if (clash !== undefined) {
          throw new GitOpsError(
            ErrorCodes.SchemeConflict,
            `cannot register ${describeGvk(definition)}: ${clash}`,
          );
        }
      }
      let schema: KindSchema | undefined;
      if (definition.schema !== undefined) {
        const path = schemaPaths[i] ?? [];
        try {
          schema = new KindSchema(this.#compiler, definition.schema, path);
        } catch (err) {
          schemaProblems.push(...(err as GitOpsError).causes);
        }
      }
      out.push({ definition, schema, fresh: true });
    });
    if (schemaProblems.length > 0) {
      throw new GitOpsError(
        ErrorCodes.InvalidSchema,
        `the schema of ${definitions[0]!.kind} has ${schemaProblems.length} problem(s); first: ${schemaProblems[0]!.message}`,
        { details: schemaProblems[0]!.details, causes: schemaProblems },
      );
    }
    return out;
  }

  #commit(p: { definition: KindDefinition; schema?: KindSchema; fresh: boolean }): void {
    if (!p.fresh) return;
    const { group, kind, version } = p.definition;
    let entry = this.#kinds.get(gkId(group, kind));
    if (entry === undefined) {
      entry = { group, kind, versions: new Map() };
      this.#kinds.set(gkId(group, kind), entry);
    }
    entry.versions.set(version, { definition: p.definition, schema: p.schema });
  }

  lookup(gvk: GroupVersionKind): KindDefinition | undefined {
    return this.#kinds.get(gkId(gvk.group, gvk.kind))?.versions.get(gvk.version)?.definition;
  }

  lookupKind(group: string, kind: string): KindInfo | undefined {
    const entry = this.#kinds.get(gkId(group, kind));
    if (entry === undefined) return undefined;
    const versions = [...entry.versions.values()]
      .map((v) => v.definition)
      .sort((a, b) => compareVersions(b.version, a.version));
    const first = versions[0]!;
    const storageVersion = versions.find((v) => v.storage === true)?.version;
    const info: KindInfo = {
      group,
      kind,
      plural: first.plural!,
      listKind: first.listKind!,
      scope: first.scope,
      versions,
      hubVersion: entry.hub ?? storageVersion ?? first.version,
    };
    if (storageVersion !== undefined) info.storageVersion = storageVersion;
    return info;
  }

  has(gvk: GroupVersionKind): boolean {
    return this.lookup(gvk) !== undefined;
  }

  /** Every registered version of every kind (the scheme's own definitions: treat them as read-only). */
  kinds(): KindDefinition[] {
    return [...this.#kinds.values()].flatMap((entry) =>
      [...entry.versions.values()].map((v) => v.definition),
    );
  }

  /** Registered kinds by their scope, then Kubernetes' built-in kinds; undefined when unknown. */
  isNamespaced(gk: GroupKind): boolean | undefined {
    const entry = this.#kinds.get(gkId(gk.group, gk.kind));
    const first = entry?.versions.values().next().value;
    if (first !== undefined) return first.definition.scope === 'Namespaced';
    return builtinIsNamespaced(gk);
  }

  /** Chooses the hub version of a kind; set it before adding conversions, which are relative to it. */
  setHubVersion(group: string, kind: string, version: string): void {
    const entry = this.#entryOf({ group, version, kind });
    entry.hub = version;
  }

  /**
   * Every problem of `obj`: the checks of validateUnstructured, then (for a registered kind) its
   * schema. With `strict`, fields the schema does not know are UnknownField.
   */
  validate(obj: unknown, options: ValidateOptions = {}): GitOpsError[] {
    const problems = validateUnstructured(obj, options);
    if (!isPlainObject(obj) || typeof obj.apiVersion !== 'string' || typeof obj.kind !== 'string')
      return problems;
    let gvk: GroupVersionKind;
    try {
      gvk = gvkOf(obj);
    } catch {
      return problems;
    }
    const entry = this.#kinds.get(gkId(gvk.group, gvk.kind));
    const schema = entry?.versions.get(gvk.version)?.schema;
    if (schema !== undefined) problems.push(...schema.validate(obj, options.strict === true));
    else if (entry === undefined) problems.push(...this.#validateBuiltin(obj, gvk, options.strict === true));
    if (problems.length === 0) return problems;
    const object = objectName(obj);
    return object === undefined ? problems : problems.map((p) => p.withDetails({ object }));
  }

  // A built-in kind against its schema; a kind of a built-in group that this Kubernetes version
  // does not serve (apps/v1beta1 Deployment) is UnknownKind, as the API server has no such kind.
  #validateBuiltin(obj: Record<string, unknown>, gvk: GroupVersionKind, strict: boolean): GitOpsError[] {
    const set = this.#builtinSet(gvk.group);
    if (set === undefined) return [];
    if (set.has(gvk.group, gvk.version, gvk.kind))
      return set.validate(obj, gvk.group, gvk.version, gvk.kind, strict);
    if (!set.hasGroup(gvk.group)) return [];
    const served = set.versionsOf(gvk.group, gvk.kind);
    return [
      new GitOpsError(
        ErrorCodes.UnknownKind,
        `Kubernetes ${set.version} has no kind ${describeGvk(gvk)}` +
          (served.length > 0
            ? `; it serves ${gvk.kind} in ${served.map((v) => formatApiVersion({ group: gvk.group, version: v })).join(', ')}`
            : '') +
          ' (choose another version with --kube-version, or register a CRD for it)',
        { details: { field: '.apiVersion', fieldSegments: ['apiVersion'], kubeVersion: set.version } },
      ),
    ];
  }

  /** Throws Invalid, carrying every problem in `causes`, when validate finds any. */
  assertValid(obj: unknown, options: ValidateOptions = {}): void {
    const problems = this.validate(obj, options);
    if (problems.length === 0) return;
    const first = problems[0]!;
    throw new GitOpsError(
      ErrorCodes.Invalid,
      problems.length === 1 ? first.message : `${first.message} (and ${problems.length - 1} more problem(s))`,
      { details: first.details, causes: problems },
    );
  }

  /** Adds a defaulting function for one version of a kind; they run after the schema's defaults. */
  addDefaulter(gvk: GroupVersionKind, defaulter: Defaulter): void {
    const list = this.#defaulters.get(gvkId(gvk)) ?? [];
    list.push(defaulter);
    this.#defaulters.set(gvkId(gvk), list);
  }

  /**
   * A defaulted deep copy of `obj`: the schema's defaults (where the parent exists, recursively
   * into what was defaulted; non-nullable nulls dropped), then the registered defaulters.
   * Unregistered kinds come back as a plain copy.
   */
  default<T extends KubeObject>(obj: T): T {
    const gvk = gvkOf(obj);
    let copy = deepCopy(obj) as KubeObject;
    const schema = this.#kinds.get(gkId(gvk.group, gvk.kind))?.versions.get(gvk.version)?.schema;
    schema?.applyDefaults(copy);
    for (const defaulter of this.#defaulters.get(gvkId(gvk)) ?? []) {
      copy = defaulter(copy) ?? copy;
    }
    return copy as T;
  }

  /** Adds the converter between one non-hub version of a kind and its hub version. */
  addConversion(gvk: GroupVersionKind, converter: Converter): void {
    this.#entryOf(gvk);
    this.#converters.set(gvkId(gvk), converter);
  }

  /**
   * `obj` in `targetVersion` (a version like `v1alpha2`, or a full apiVersion of the same
   * group): spoke -> hub -> spoke, with apiVersion set, never defaulted. The input is not changed.
   */
  convert<T extends KubeObject = KubeObject>(obj: KubeObject, targetVersion: string): T {
    const gvk = gvkOf(obj);
    let target = targetVersion;
    if (targetVersion.includes('/')) {
      const gv = parseApiVersion(targetVersion);
      if (gv.group !== gvk.group) {
        throw new GitOpsError(
          ErrorCodes.ConversionFailed,
          `cannot convert ${describeGvk(gvk)} to ${targetVersion}: conversion never changes the group`,
          { details: { from: formatApiVersion(gvk), to: targetVersion } },
        );
      }
      target = gv.version;
    }
    if (target === gvk.version) return deepCopy(obj) as T;
    const entry = this.#entryOf(gvk);
    this.#entryOf({ ...gvk, version: target });
    const hub = this.lookupKind(gvk.group, gvk.kind)!.hubVersion;
    let current = deepCopy(obj);
    if (gvk.version !== hub) current = this.#step(entry, current, gvk.version, hub, 'toHub');
    if (target !== hub) current = this.#step(entry, current, target, hub, 'fromHub');
    return current as T;
  }

  /** `obj` in its kind's hub version. */
  convertToHub<T extends KubeObject = KubeObject>(obj: KubeObject): T {
    const gvk = gvkOf(obj);
    this.#entryOf(gvk);
    return this.convert<T>(obj, this.lookupKind(gvk.group, gvk.kind)!.hubVersion);
  }

  #step(
    entry: KindEntry,
    obj: KubeObject,
    spoke: string,
    hub: string,
    direction: 'toHub' | 'fromHub',
  ): KubeObject {
    const { group, kind } = entry;
    const [from, to] = direction === 'toHub' ? [spoke, hub] : [hub, spoke];
    const fromApi = formatApiVersion({ group, version: from });
    const toApi = formatApiVersion({ group, version: to });
    const details = { from: fromApi, to: toApi, kind, ...objectDetail(obj) };
    const converter = this.#converters.get(gvkId({ group, version: spoke, kind }));
    if (converter === undefined) {
      if (entry.conversionStrategy === 'None') return { ...obj, apiVersion: toApi };
      throw new GitOpsError(
        ErrorCodes.ConversionFailed,
        `no conversion between ${kind} ${fromApi} and ${toApi}: register one with ` +
          `scheme.addConversion({ group: '${group}', version: '${spoke}', kind: '${kind}' }, { toHub, fromHub })`,
        { details },
      );
    }
    let converted: unknown;
    try {
      converted = converter[direction](obj);
    } catch (err) {
      throw new GitOpsError(
        ErrorCodes.ConversionFailed,
        `converting ${kind} from ${fromApi} to ${toApi} failed: ${err instanceof Error ? err.message : String(err)}`,
        { details, cause: err },
      );
    }
    if (!isPlainObject(converted)) {
      throw new GitOpsError(
        ErrorCodes.ConversionFailed,
        `the ${direction} converter of ${kind} ${formatApiVersion({ group, version: spoke })} returned no object`,
        { details },
      );
    }
    return { ...(converted as KubeObject), apiVersion: toApi, kind };
  }

  #entryOf(gvk: GroupVersionKind): KindEntry {
    const entry = this.#kinds.get(gkId(gvk.group, gvk.kind));
    if (entry === undefined) {
      throw new GitOpsError(
        ErrorCodes.UnknownKind,
        `kind ${groupKindToString(gvk)} is not registered in the scheme (register it, or its CRD, first)`,
        { details: { group: gvk.group, kind: gvk.kind } },
      );
    }
    if (!entry.versions.has(gvk.version)) {
      throw new GitOpsError(
        ErrorCodes.UnknownVersion,
        `${gvk.kind} has no version ${gvk.version} in the scheme; known: ${[...entry.versions.keys()].join(', ')}`,
        { details: { group: gvk.group, kind: gvk.kind, version: gvk.version } },
      );
    }
    return entry;
  }
}

function objectName(obj: Record<string, unknown>): string | undefined {
  try {
    return objectKeyToString(keyOf(obj));
  } catch {
    return undefined;
  }
}

function objectDetail(obj: KubeObject): { object?: string } {
  const object = objectName(obj);
  return object === undefined ? {} : { object };
}

function checkDefinition(def: KindDefinition): void {
  const problems: GitOpsError[] = [];
  if (typeof def.group !== 'string' || !isValidGroup(def.group)) {
    problems.push(
      invalid(['group'], `${JSON.stringify(def.group)} is not a valid API group (a lowercase DNS name)`),
    );
  }
  if (typeof def.version !== 'string' || !isValidVersion(def.version)) {
    problems.push(
      invalid(['version'], `${JSON.stringify(def.version)} is not a valid version (e.g. "v1alpha1")`),
    );
  }
  if (typeof def.kind !== 'string' || !/^[A-Za-z][A-Za-z0-9]*$/.test(def.kind)) {
    problems.push(invalid(['kind'], `${JSON.stringify(def.kind)} is not a valid kind (e.g. "Car")`));
  }
  if (def.scope !== 'Namespaced' && def.scope !== 'Cluster') {
    problems.push(invalid(['scope'], `must be "Namespaced" or "Cluster", not ${JSON.stringify(def.scope)}`));
  }
  if (problems.length > 0) {
    throw new GitOpsError(
      ErrorCodes.Invalid,
      `bad kind definition: ${problems.map((p) => p.message).join('; ')}`,
      {
        details: problems[0]!.details,
        causes: problems,
      },
    );
  }
}

interface CRDReading {
  definitions: KindDefinition[];
  conversionStrategy: 'None' | 'Webhook';
  schemaPaths: FieldPathSegment[][];
}

/** Reads a CRD manifest into kind definitions, collecting every problem with its path. */
function readCRD(crd: unknown): CRDReading {
  const problems: GitOpsError[] = [];
  const fail = (): never => {
    const name = isPlainObject(crd) && isPlainObject(crd.metadata) ? crd.metadata.name : undefined;
    throw new GitOpsError(
      ErrorCodes.Invalid,
      `CustomResourceDefinition${typeof name === 'string' ? ` ${name}` : ''} is not valid: ` +
        problems.map((p) => p.message).join('; '),
      { details: problems[0]!.details, causes: problems },
    );
  };
  if (!isPlainObject(crd)) {
    problems.push(invalid([], 'a CustomResourceDefinition must be a map'));
    return fail();
  }
  const apiVersion = crd.apiVersion;
  if (apiVersion !== 'apiextensions.k8s.io/v1' && apiVersion !== 'apiextensions.k8s.io/v1beta1') {
    problems.push(
      invalid(['apiVersion'], `must be apiextensions.k8s.io/v1, not ${JSON.stringify(apiVersion)}`),
    );
  }
  if (crd.kind !== 'CustomResourceDefinition') {
    problems.push(invalid(['kind'], `must be CustomResourceDefinition, not ${JSON.stringify(crd.kind)}`));
  }
  const spec = crd.spec;
  if (!isPlainObject(spec)) {
    problems.push(invalid(['spec'], 'is missing or not a map'));
    return fail();
  }
  const group = spec.group;
  if (typeof group !== 'string' || group === '' || !isValidGroup(group)) {
    problems.push(
      invalid(
        ['spec', 'group'],
        `must be a lowercase DNS name like "example.com", not ${JSON.stringify(group)}`,
      ),
    );
  }
  const names = isPlainObject(spec.names) ? spec.names : undefined;
  if (names === undefined) problems.push(invalid(['spec', 'names'], 'is missing or not a map'));
  const kind = names?.kind;
  if (typeof kind !== 'string' || !/^[A-Za-z][A-Za-z0-9]*$/.test(kind)) {
    problems.push(
      invalid(['spec', 'names', 'kind'], `must be a kind name like "Car", not ${JSON.stringify(kind)}`),
    );
  }
  const plural = names?.plural;
  if (typeof plural !== 'string' || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(plural)) {
    problems.push(
      invalid(
        ['spec', 'names', 'plural'],
        `must be a lowercase name like "cars", not ${JSON.stringify(plural)}`,
      ),
    );
  }
  const listKind = names?.listKind;
  if (listKind !== undefined && typeof listKind !== 'string') {
    problems.push(invalid(['spec', 'names', 'listKind'], 'must be a string'));
  }
  const scope = spec.scope;
  if (scope !== 'Namespaced' && scope !== 'Cluster') {
    problems.push(
      invalid(['spec', 'scope'], `must be "Namespaced" or "Cluster", not ${JSON.stringify(scope)}`),
    );
  }
  const name = isPlainObject(crd.metadata) ? crd.metadata.name : undefined;
  if (typeof plural === 'string' && typeof group === 'string' && name !== `${plural}.${group}`) {
    problems.push(
      invalid(
        ['metadata', 'name'],
        `must be "<plural>.<group>", i.e. "${plural}.${group}", not ${JSON.stringify(name)}`,
      ),
    );
  }
  // v1beta1 had one version (spec.version) and CRD-wide schema and subresources.
  const rawVersions: unknown =
    spec.versions ??
    (typeof spec.version === 'string' ? [{ name: spec.version, served: true, storage: true }] : undefined);
  const sharedSchema = isPlainObject(spec.validation) ? spec.validation.openAPIV3Schema : undefined;
  const sharedSubresources = spec.subresources;
  if (!Array.isArray(rawVersions) || rawVersions.length === 0) {
    problems.push(invalid(['spec', 'versions'], 'must be a non-empty list of versions'));
    return fail();
  }
  const definitions: KindDefinition[] = [];
  const schemaPaths: FieldPathSegment[][] = [];
  const seen = new Set<string>();
  rawVersions.forEach((v, i) => {
    const at: FieldPathSegment[] = ['spec', 'versions', i];
    if (!isPlainObject(v)) {
      problems.push(invalid(at, 'must be a map'));
      return;
    }
    const version = v.name;
    if (typeof version !== 'string' || !isValidVersion(version)) {
      problems.push(
        invalid([...at, 'name'], `must be a version name like "v1alpha1", not ${JSON.stringify(version)}`),
      );
      return;
    }
    if (seen.has(version)) problems.push(invalid([...at, 'name'], `version ${version} is listed twice`));
    seen.add(version);
    for (const flag of ['served', 'storage'] as const) {
      if (v[flag] !== undefined && typeof v[flag] !== 'boolean')
        problems.push(invalid([...at, flag], 'must be true or false'));
    }
    const ownSchema = isPlainObject(v.schema) ? v.schema.openAPIV3Schema : undefined;
    if (v.schema !== undefined && !isPlainObject(v.schema))
      problems.push(invalid([...at, 'schema'], 'must be a map'));
    const schema = ownSchema ?? sharedSchema;
    const subresources = isPlainObject(v.subresources)
      ? v.subresources
      : isPlainObject(sharedSubresources)
        ? sharedSubresources
        : {};
    const definition: KindDefinition = {
      group: group as string,
      version,
      kind: kind as string,
      plural: plural as string,
      listKind: typeof listKind === 'string' ? listKind : `${String(kind)}List`,
      scope: scope as Scope,
      served: v.served !== false,
      storage: v.storage === true,
      subresources: { status: subresources.status !== undefined && subresources.status !== null },
    };
    if (schema !== undefined) definition.schema = schema as JSONSchemaProps;
    definitions.push(definition);
    schemaPaths.push(
      ownSchema !== undefined
        ? [...at, 'schema', 'openAPIV3Schema']
        : ['spec', 'validation', 'openAPIV3Schema'],
    );
  });
  const storage = definitions.filter((d) => d.storage === true);
  if (storage.length > 1) {
    problems.push(
      invalid(
        ['spec', 'versions'],
        `only one version may have storage: true, not ${storage.map((d) => d.version).join(', ')}`,
      ),
    );
  } else if (storage.length === 0 && definitions.length > 1) {
    problems.push(invalid(['spec', 'versions'], 'one version must have storage: true'));
  } else if (storage.length === 0 && definitions[0] !== undefined) {
    definitions[0].storage = true;
  }
  const conversion = isPlainObject(spec.conversion) ? spec.conversion.strategy : undefined;
  if (conversion !== undefined && conversion !== 'None' && conversion !== 'Webhook') {
    problems.push(
      invalid(
        ['spec', 'conversion', 'strategy'],
        `must be "None" or "Webhook", not ${JSON.stringify(conversion)}`,
      ),
    );
  }
  if (problems.length > 0) return fail();
  return { definitions, conversionStrategy: conversion === 'Webhook' ? 'Webhook' : 'None', schemaPaths };
}
