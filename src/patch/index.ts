/**
 * The patch layer: JSON Patch (RFC 6902), JSON Merge Patch (RFC 7386), strategic merge patch
 * with the merge keys and strategies of Kubernetes' built-in kinds, and a field-level apply;
 * applied to an object, or made from two objects.
 */
export type { JsonPatchOperation } from './json-merge.js';
export { applyFields, applyJsonPatch, applyMergePatch } from './json-merge.js';
export type { Patch, PatchType } from './patch.js';
export { PATCH_TYPES, applyPatch, createJsonPatch, createMergePatch, createPatch } from './patch.js';
export { applyStrategicMergePatch, createStrategicMergePatch } from './strategic.js';
export type { BuiltinPatchMeta, PatchField } from './patch-meta.js';
export { PatchMeta } from './patch-meta.js';
