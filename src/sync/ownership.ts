/**
 * Whether our field manager still owns every field we asked for. Server-side apply records,
 * per manager, the set of fields it owns (managedFields, FieldsV1). When someone else changes
 * one of our fields (`kubectl edit`, a patch, a forced apply), that field moves to them and
 * leaves our set: so "our set still covers the desired object" means "nobody changed our
 * fields", with no stored state and no request.
 */
import { isPlainObject, parseJsonExact, stringifyJson } from '../runtime/index.js';
import type { KubeObject } from '../runtime/index.js';

type FieldSet = Record<string, unknown>;

/** Our Apply entry's field set on a live object, or undefined when we own nothing there. */
export function appliedFields(live: KubeObject, fieldManager: string): FieldSet | undefined {
  const entries = live.metadata?.managedFields ?? [];
  const entry = entries.find(
    (e) => e.manager === fieldManager && e.operation === 'Apply' && (e.subresource ?? '') === '',
  );
  return entry !== undefined && isPlainObject(entry.fieldsV1) ? entry.fieldsV1 : undefined;
}

// Set by the server or part of the URL: never in a field set.
const SKIPPED_METADATA = new Set([
  'name',
  'namespace',
  'generateName',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'managedFields',
  'selfLink',
]);

/** True when `fieldManager` owns every field of `desired` on `live`. */
export function ownsDesiredFields(live: KubeObject, desired: KubeObject, fieldManager: string): boolean {
  const fields = appliedFields(live, fieldManager);
  if (fields === undefined) return false;
  for (const [name, value] of Object.entries(desired)) {
    // The status of an object with a status subresource is never ours through the main resource.
    if (name === 'apiVersion' || name === 'kind' || name === 'status' || value === null) continue;
    if (name === 'metadata' && isPlainObject(value)) {
      const metadataFields = fields['f:metadata'];
      for (const [field, v] of Object.entries(value)) {
        if (SKIPPED_METADATA.has(field) || v === null) continue;
        if (!covers(v, isPlainObject(metadataFields) ? metadataFields[`f:${field}`] : undefined))
          return false;
      }
      continue;
    }
    if (!covers(value, fields[`f:${name}`])) return false;
  }
  return true;
}

/** True when the field set `fields` holds every field of `value`. */
export function covers(value: unknown, fields: unknown): boolean {
  // An empty list or map sets nothing the server records (`env: []` leaves no field behind).
  if (isEmptyCollection(value)) return true;
  if (!isPlainObject(fields)) return false;
  if (value === null || typeof value !== 'object') return true;
  // A leaf of the set is a field owned whole: an atomic map or list (a selector, a roleRef).
  if (Object.keys(fields).length === 0) return true;
  if (Array.isArray(value)) return coversList(value, fields);
  for (const [name, v] of Object.entries(value)) {
    if (v === null) continue;
    if (!covers(v, fields[`f:${name}`])) return false;
  }
  return true;
}

function coversList(items: unknown[], fields: FieldSet): boolean {
  const members = Object.keys(fields).filter(
    (k) => k.startsWith('k:') || k.startsWith('v:') || k.startsWith('i:'),
  );
  // An atomic list is owned as a whole: its field set has no members.
  if (members.length === 0) return true;
  const keyed = members
    .filter((k) => k.startsWith('k:'))
    .map((k) => ({ key: parseKey(k), fields: fields[k] }));
  for (const item of items) {
    if (item === null || typeof item !== 'object' || Array.isArray(item)) {
      if (fields[`v:${stringifyJson(item)}`] === undefined) return false;
      continue;
    }
    const record = item as Record<string, unknown>;
    // Key fields the server defaulted (a port's protocol) are absent from what we sent.
    const match = keyed.find(
      (k) =>
        k.key !== undefined &&
        Object.entries(k.key).every(
          ([name, v]) => record[name] === undefined || sameScalar(record[name], v),
        ) &&
        covers(record, k.fields),
    );
    if (match === undefined) return false;
  }
  return true;
}

function parseKey(member: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = parseJsonExact(member.slice(2));
    return isPlainObject(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

function sameScalar(a: unknown, b: unknown): boolean {
  return a === b || (typeof a !== 'object' && typeof b !== 'object' && String(a) === String(b));
}

function isEmptyCollection(value: unknown): boolean {
  return typeof value === 'object' && value !== null && Object.keys(value).length === 0;
}
