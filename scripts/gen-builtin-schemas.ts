/**
 * Regenerates src/runtime/builtin-schemas.json, the schemas of Kubernetes' built-in kinds for
 * each supported minor version, as the strict validation of built-in kinds needs them:
 *
 *   npx tsx scripts/gen-builtin-schemas.ts
 *
 * Sources, fetched with `go mod download` (so the result is reproducible from the module proxy):
 * - k8s.io/kubernetes@<version>: api/openapi-spec/v3/*.json, the API server's own OpenAPI v3
 *   (types, properties, required fields, formats, int-or-string, quantities).
 * - k8s.io/api@<v0.minor.patch>: the Go types. The published OpenAPI documents carry no `enum`
 *   (the generator writes them only with a feature on), so the values of each `+enum` string type
 *   are read from its constants, and given to the fields of that type.
 *
 * Kept compact: each type is `{p: {field: type}, r?: [required]}` where a field type is a short
 * code (`s` string, `b` boolean, `i32`/`i` integer, `n` number, `q` quantity, `is` int-or-string,
 * `t` date-time, `y` base64 bytes, `a` anything, `=A|B` a string enum), a type name (it has
 * dots), or `[]T` / `{}T` for a list or map of T. Identical definitions are stored once for all
 * versions; the oldest version lists every kind and type, each newer one only what changed.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Kubernetes minor version -> the patch release whose module is used. */
const RELEASES: Record<string, string> = {
  '1.30': '1.30.14',
  '1.31': '1.31.14',
  '1.32': '1.32.13',
  '1.33': '1.33.13',
  '1.34': '1.34.4',
};

/**
 * Fields whose Go type is a `+enum` but whose values the API server does not limit to the
 * constants (found by test/cli/validate-server.test.ts): left as plain strings.
 */
const ENUM_NOT_ENFORCED = new Set<string>([]);

/**
 * Required in the OpenAPI documents, yet a missing one is accepted by the API server, which
 * defaults it or takes the zero value (found by test/cli/validate-server.test.ts). Required
 * booleans are dropped too: a Go bool cannot tell false from absent.
 */
const REQUIRED_NOT_ENFORCED = new Set<string>([
  'rbac.v1.RoleRef.apiGroup',
  'networking.v1.NetworkPolicySpec.podSelector',
  'apps.v1.StatefulSetSpec.serviceName',
]);

const OUT = fileURLToPath(new URL('../src/runtime/builtin-schemas.json', import.meta.url));

interface OpenApiSchema {
  $ref?: string;
  allOf?: OpenApiSchema[];
  oneOf?: OpenApiSchema[];
  type?: string;
  format?: string;
  items?: OpenApiSchema;
  properties?: Record<string, OpenApiSchema>;
  additionalProperties?: OpenApiSchema | boolean;
  required?: string[];
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-group-version-kind'?: { group: string; version: string; kind: string }[];
}

interface TypeDef {
  p: Record<string, string>;
  r?: string[];
}

/** The module's folder in the Go module cache, downloaded when missing (no shell: an argument array). */
function goModule(path: string, version: string): string {
  const result = spawnSync('go', ['mod', 'download', '-json', `${path}@${version}`], {
    encoding: 'utf8',
    env: { ...process.env, GOFLAGS: '-mod=mod' },
    cwd: fileURLToPath(new URL('..', import.meta.url)),
  });
  if (result.status !== 0) throw new Error(`go mod download ${path}@${version}: ${result.stderr}`);
  const info = JSON.parse(result.stdout) as { Dir?: string; Error?: string };
  if (info.Dir === undefined) throw new Error(`go mod download ${path}@${version}: ${info.Error}`);
  return info.Dir;
}

function short(name: string): string {
  return name.replace(/^io\.k8s\.(api\.)?/, '');
}

function refName(schema: OpenApiSchema | undefined): string | undefined {
  const ref = schema?.$ref ?? schema?.allOf?.find((s) => s.$ref !== undefined)?.$ref;
  return ref?.replace('#/components/schemas/', '');
}

/** Named types that are values, not structs: their code replaces their name. */
function primitiveOf(name: string, schema: OpenApiSchema): string | undefined {
  if (name.endsWith('.api.resource.Quantity')) return 'q';
  if (name.endsWith('.util.intstr.IntOrString')) return 'is';
  if (schema.properties === undefined && schema.oneOf === undefined) {
    if (schema.type === undefined || (schema.type === 'object' && schema.additionalProperties === undefined))
      return 'a';
    if (schema.type !== 'object' && schema.type !== 'array') return scalar(schema);
  }
  if (schema.oneOf !== undefined) return 'a';
  return undefined;
}

function scalar(schema: OpenApiSchema): string {
  switch (schema.type) {
    case 'string':
      return schema.format === 'date-time' ? 't' : schema.format === 'byte' ? 'y' : 's';
    case 'boolean':
      return 'b';
    case 'integer':
      return schema.format === 'int32' ? 'i32' : 'i';
    case 'number':
      return 'n';
    default:
      return 'a';
  }
}

/** Enum values of each `<package dir>.<Struct>.<json field>`, from the Go sources of k8s.io/api. */
function goEnums(root: string): Map<string, string[]> {
  const fields = new Map<string, string[]>();
  const packages: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) walk(path);
      else if (entry === 'types.go') packages.push(dir);
    }
  };
  walk(root);
  // Enum types of every package first: fields may use another package's (e.g. core/v1's).
  const enumTypes = new Map<string, string[]>(); // "<dir>.<Type>" -> values
  const sources = new Map<string, string>();
  for (const dir of packages) {
    const text = readdirSync(dir)
      .filter((f) => f.endsWith('.go') && !f.endsWith('_test.go') && !f.startsWith('zz_generated'))
      .map((f) => readFileSync(join(dir, f), 'utf8'))
      .join('\n');
    const pkg = dir.slice(root.length + 1);
    sources.set(pkg, text);
    const names = [...text.matchAll(/\/\/ \+enum\n(?:\/\/.*\n)*type (\w+) string/g)].map((m) => m[1]!);
    for (const name of names) {
      const values = [...text.matchAll(new RegExp(`^\\s*\\w+\\s+${name}\\s*=\\s*"([^"]*)"`, 'gm'))].map(
        (m) => m[1]!,
      );
      if (values.length > 0) enumTypes.set(`${pkg}.${name}`, [...new Set(values)].sort());
    }
  }
  for (const [pkg, text] of sources) {
    const imports = new Map<string, string>();
    for (const m of text.matchAll(/^\s*(\w+)?\s*"k8s\.io\/api\/([\w/]+)"/gm))
      imports.set(m[1] ?? m[2]!.split('/').pop()!, m[2]!);
    for (const struct of text.matchAll(/^type (\w+) struct \{\n([\s\S]*?)^\}/gm)) {
      for (const field of struct[2]!.matchAll(
        /^\s+\w+\s+(?:\*|\[\])?(?:(\w+)\.)?(\w+)\s+`json:"([^",]+)/gm,
      )) {
        const typePkg = field[1] === undefined ? pkg : imports.get(field[1]);
        const values = typePkg === undefined ? undefined : enumTypes.get(`${typePkg}.${field[2]}`);
        if (values !== undefined) fields.set(`${pkg}.${struct[1]}.${field[3]}`, values);
      }
    }
  }
  return fields;
}

/** `io.k8s.api.core.v1.Container` -> `core/v1.Container`, the Go package folder and struct. */
function goName(name: string): string | undefined {
  const m = /^io\.k8s\.api\.(\w+)\.(v\w+)\.(\w+)$/.exec(name);
  return m === null ? undefined : `${m[1]}/${m[2]}.${m[3]}`;
}

function generateVersion(release: string): { kinds: Record<string, string>; types: Record<string, TypeDef> } {
  const kube = goModule('k8s.io/kubernetes', `v${release}`);
  const api = goModule('k8s.io/api', `v0.${release.split('.').slice(1).join('.')}`);
  const enums = goEnums(api);
  const specDir = join(kube, 'api', 'openapi-spec', 'v3');
  const schemas = new Map<string, OpenApiSchema>();
  for (const file of readdirSync(specDir).sort()) {
    const doc = JSON.parse(readFileSync(join(specDir, file), 'utf8')) as {
      components?: { schemas?: Record<string, OpenApiSchema> };
    };
    for (const [name, schema] of Object.entries(doc.components?.schemas ?? {})) schemas.set(name, schema);
  }
  const codeOf = (schema: OpenApiSchema | undefined, enumValues?: string[]): string => {
    if (schema === undefined) return 'a';
    const ref = refName(schema);
    if (ref !== undefined) {
      const target = schemas.get(ref);
      if (target === undefined) return 'a';
      return primitiveOf(ref, target) ?? short(ref);
    }
    if (schema['x-kubernetes-preserve-unknown-fields'] === true) return 'a';
    if (schema.type === 'array') return `[]${codeOf(schema.items, enumValues)}`;
    if (schema.type === 'object' || schema.additionalProperties !== undefined) {
      if (typeof schema.additionalProperties === 'object')
        return `{}${codeOf(schema.additionalProperties, enumValues)}`;
      return 'a';
    }
    if (schema.type === 'string' && enumValues !== undefined) {
      for (const v of enumValues) if (v.includes('|')) throw new Error(`enum value ${v} holds "|"`);
      return `=${enumValues.join('|')}`;
    }
    return scalar(schema);
  };
  const types: Record<string, TypeDef> = {};
  const kinds: Record<string, string> = {};
  for (const [name, schema] of schemas) {
    if (schema.properties === undefined || primitiveOf(name, schema) !== undefined) continue;
    const go = goName(name);
    const def: TypeDef = { p: {} };
    for (const [field, prop] of Object.entries(schema.properties)) {
      const key = go === undefined ? undefined : `${go}.${field}`;
      const values = key === undefined || ENUM_NOT_ENFORCED.has(key) ? undefined : enums.get(key);
      def.p[field] = codeOf(prop, values);
    }
    const required = (schema.required ?? []).filter(
      (field) => def.p[field] !== 'b' && !REQUIRED_NOT_ENFORCED.has(`${short(name)}.${field}`),
    );
    if (required.length > 0) def.r = required.sort();
    types[short(name)] = def;
    for (const gvk of schema['x-kubernetes-group-version-kind'] ?? []) {
      // Objects only: lists, options and events have no ObjectMeta.
      if (refName(schema.properties.metadata) !== 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta') continue;
      kinds[`${gvk.group === '' ? '' : `${gvk.group}/`}${gvk.version}/${gvk.kind}`] = short(name);
    }
  }
  // Keep only the types a kind reaches.
  const kept: Record<string, TypeDef> = {};
  const visit = (name: string): void => {
    if (kept[name] !== undefined || types[name] === undefined) return;
    kept[name] = types[name];
    for (const code of Object.values(types[name].p)) visit(code.replace(/^(\[\]|\{\})+/, ''));
  };
  for (const name of Object.values(kinds)) visit(name);
  return { kinds: sortKeys(kinds), types: sortKeys(kept) };
}

function sortKeys<T>(obj: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(obj).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function main(): void {
  const defs: TypeDef[] = [];
  const defIndex = new Map<string, number>();
  const versions: Record<
    string,
    { kinds: Record<string, string | null>; types: Record<string, number | null> }
  > = {};
  let previous: { kinds: Record<string, string>; types: Record<string, number> } | undefined;
  for (const [minor, release] of Object.entries(RELEASES)) {
    const { kinds, types } = generateVersion(release);
    const indexed: Record<string, number> = {};
    for (const [name, def] of Object.entries(types)) {
      const text = JSON.stringify(def);
      let i = defIndex.get(text);
      if (i === undefined) {
        i = defs.push(def) - 1;
        defIndex.set(text, i);
      }
      indexed[name] = i;
    }
    // Each version after the first: only what changed since the one before (null: removed).
    const delta = <T>(
      now: Record<string, T>,
      before: Record<string, T> | undefined,
    ): Record<string, T | null> => {
      if (before === undefined) return now;
      const out: Record<string, T | null> = {};
      for (const [k, v] of Object.entries(now)) if (before[k] !== v) out[k] = v;
      for (const k of Object.keys(before)) if (!(k in now)) out[k] = null;
      return out;
    };
    versions[minor] = { kinds: delta(kinds, previous?.kinds), types: delta(indexed, previous?.types) };
    previous = { kinds, types: indexed };
    process.stderr.write(
      `${minor} (${release}): ${Object.keys(kinds).length} kinds, ${Object.keys(types).length} types\n`,
    );
  }
  const text = `${JSON.stringify({ releases: RELEASES, versions, defs })}\n`;
  writeFileSync(OUT, text);
  process.stderr.write(`${OUT}: ${defs.length} distinct types, ${text.length} bytes\n`);
}

main();
