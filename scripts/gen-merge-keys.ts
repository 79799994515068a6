/**
 * Regenerates src/patch/builtin-patch-meta.ts, the strategic-merge metadata of Kubernetes'
 * built-in kinds (x-kubernetes-patch-strategy and x-kubernetes-patch-merge-key of every field),
 * from the OpenAPI v3 documents of a real API server:
 *
 *   npx tsx scripts/gen-merge-keys.ts            # starts the test control plane (test/support)
 *   KUBECONFIG=... npx tsx scripts/gen-merge-keys.ts   # or reads a cluster you name
 *
 * Only what strategic merge needs is kept: per type, the fields leading to a type with patch
 * metadata, and the metadata itself; types without any are left out.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { kubeRequestOk, startControlPlane } from '../test/support/cluster/index.js';
import type { ClusterAccess } from '../test/support/cluster/index.js';

interface OpenApiSchema {
  $ref?: string;
  allOf?: OpenApiSchema[];
  type?: string;
  items?: OpenApiSchema;
  properties?: Record<string, OpenApiSchema>;
  additionalProperties?: OpenApiSchema | boolean;
  'x-kubernetes-patch-strategy'?: string;
  'x-kubernetes-patch-merge-key'?: string;
  'x-kubernetes-group-version-kind'?: { group: string; version: string; kind: string }[];
}

/** A field of a type: the type it holds (itself, or its items / values), and its metadata. */
interface Field {
  /** Type name of the value (a map's values or a list's items when `of` says so). */
  t?: string;
  /** 'l' the field is a list of `t`, 'm' a map of `t`. */
  of?: 'l' | 'm';
  /** x-kubernetes-patch-strategy. */
  s?: string;
  /** x-kubernetes-patch-merge-key. */
  k?: string;
}

const OUT = fileURLToPath(new URL('../src/patch/builtin-patch-meta.ts', import.meta.url));

function refName(schema: OpenApiSchema | undefined): string | undefined {
  const ref = schema?.$ref ?? schema?.allOf?.find((s) => s.$ref !== undefined)?.$ref;
  return ref?.replace('#/components/schemas/', '');
}

async function main(): Promise<void> {
  const plane = await startControlPlane({ nodes: 0, controllerManager: false });
  try {
    await generate(plane);
  } finally {
    await plane.stop();
  }
}

async function generate(access: ClusterAccess): Promise<void> {
  const index = {
    body: asJson<{ paths: Record<string, { serverRelativeURL: string }> }>(
      await kubeRequestOk(access, 'GET', '/openapi/v3'),
    ),
  };
  const schemas = new Map<string, OpenApiSchema>();
  for (const [path, { serverRelativeURL }] of Object.entries(index.body.paths)) {
    // Built-in groups only: aggregated and custom resources have no strategic merge.
    if (!/^(api\/v1|apis\/[^/]*\.k8s\.io\/|apis\/(apps|batch|autoscaling|policy)\/)/.test(path)) continue;
    const doc = {
      body: asJson<{ components?: { schemas?: Record<string, OpenApiSchema> } }>(
        await kubeRequestOk(access, 'GET', serverRelativeURL),
      ),
    };
    for (const [name, schema] of Object.entries(doc.body.components?.schemas ?? {}))
      schemas.set(name, schema);
  }

  const types: Record<string, Record<string, Field>> = {};
  for (const [name, schema] of schemas) {
    const fields: Record<string, Field> = {};
    for (const [field, prop] of Object.entries(schema.properties ?? {})) {
      const f: Field = {};
      const direct = refName(prop);
      if (direct !== undefined) f.t = direct;
      else if (prop.type === 'array' && refName(prop.items) !== undefined)
        [f.t, f.of] = [refName(prop.items), 'l'];
      else if (
        typeof prop.additionalProperties === 'object' &&
        refName(prop.additionalProperties) !== undefined
      )
        [f.t, f.of] = [refName(prop.additionalProperties), 'm'];
      if (prop['x-kubernetes-patch-strategy'] !== undefined) f.s = prop['x-kubernetes-patch-strategy'];
      if (prop['x-kubernetes-patch-merge-key'] !== undefined) f.k = prop['x-kubernetes-patch-merge-key'];
      if (Object.keys(f).length > 0) fields[field] = f;
    }
    types[name] = fields;
  }
  // Keep only the types from which patch metadata can be reached.
  const useful = new Map<string, boolean>();
  const reaches = (name: string, seen: Set<string>): boolean => {
    const known = useful.get(name);
    if (known !== undefined) return known;
    if (seen.has(name)) return false;
    seen.add(name);
    const result = Object.values(types[name] ?? {}).some(
      (f) => f.s !== undefined || (f.t !== undefined && reaches(f.t, seen)),
    );
    useful.set(name, result);
    return result;
  };
  const kinds: Record<string, string> = {};
  const kept: Record<string, Record<string, Field>> = {};
  for (const [name, schema] of schemas) {
    for (const gvk of schema['x-kubernetes-group-version-kind'] ?? []) {
      if (!reaches(name, new Set())) continue;
      kinds[`${gvk.group === '' ? '' : `${gvk.group}/`}${gvk.version}/${gvk.kind}`] = short(name);
    }
  }
  for (const name of Object.keys(types)) {
    if (!reaches(name, new Set())) continue;
    const fields: Record<string, Field> = {};
    for (const [field, f] of Object.entries(types[name]!)) {
      const keepType = f.t !== undefined && reaches(f.t, new Set());
      if (f.s === undefined && !keepType) continue;
      const out: Field = { ...f };
      if (keepType) out.t = short(f.t!);
      else {
        delete out.t;
        delete out.of;
      }
      fields[field] = out;
    }
    kept[short(name)] = fields;
  }
  const text =
    "// Generated by scripts/gen-merge-keys.ts from the API server's OpenAPI v3; do not edit.\n" +
    "import type { BuiltinPatchMeta } from './patch-meta.js';\n\n// prettier-ignore\n" +
    `export const BUILTIN_PATCH_META: BuiltinPatchMeta = ${JSON.stringify({ kinds: sortKeys(kinds), types: sortKeys(kept) })};\n`;
  writeFileSync(OUT, text);
  process.stderr.write(
    `${OUT}: ${Object.keys(kinds).length} kinds, ${Object.keys(kept).length} types, ${text.length} bytes\n`,
  );
}

/** io.k8s.api.core.v1.PodSpec -> core.v1.PodSpec (the shared prefix says nothing). */
function short(name: string): string {
  return name.replace(/^io\.k8s\.(api\.)?/, '');
}

/** The OpenAPI answers come without a JSON content type, as text. */
function asJson<T>(body: unknown): T {
  return (typeof body === 'string' ? JSON.parse(body) : body) as T;
}

function sortKeys<T>(obj: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(obj).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

await main();
