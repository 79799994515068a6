/**
 * Large CRD schemas repeat the same subschema many times (Argo CD's ApplicationSet holds its
 * Application template a dozen times over). ajv would generate code for every copy; moving
 * each repeated subschema into `definitions` once and pointing at it with `$ref` makes ajv
 * compile it once, which keeps compile time and memory proportional to the distinct parts.
 */
import { createHash } from 'node:crypto';
import type { AnySchemaObject } from 'ajv';
import { setOwn } from './json-value.js';
import { isPlainObject } from './types.js';

// Below this many schema nodes a copy costs less than the indirection.
const MIN_SHARED_NODES = 4;

const SINGLE_CHILDREN = new Set(['items', 'additionalProperties', 'not']);
const CHILD_LISTS = new Set(['allOf', 'anyOf', 'oneOf']);

interface NodeInfo {
  hash: string;
  nodes: number;
}

function measure(node: AnySchemaObject, infos: Map<object, NodeInfo>, counts: Map<string, number>): NodeInfo {
  const parts: string[] = [];
  let nodes = 1;
  const child = (prefix: string, value: AnySchemaObject): void => {
    const info = measure(value, infos, counts);
    parts.push(`${prefix}${info.hash}`);
    nodes += info.nodes;
  };
  for (const key of Object.keys(node).sort()) {
    const value: unknown = node[key];
    if (key === 'properties' && isPlainObject(value)) {
      for (const name of Object.keys(value).sort())
        child(`p${JSON.stringify(name)}:`, value[name] as AnySchemaObject);
    } else if (SINGLE_CHILDREN.has(key) && isPlainObject(value)) {
      child(`${key}:`, value);
    } else if (CHILD_LISTS.has(key) && Array.isArray(value)) {
      value.forEach((branch, i) => child(`${key}${i}:`, branch as AnySchemaObject));
    } else {
      parts.push(`${key}=${JSON.stringify(value)}`);
    }
  }
  const hash = createHash('sha1').update(parts.join('\n')).digest('base64');
  const info = { hash, nodes };
  infos.set(node, info);
  counts.set(hash, (counts.get(hash) ?? 0) + 1);
  return info;
}

/** Rewrites `root` in place so that every large repeated subschema is compiled once. */
export function shareRepeatedSubschemas(root: AnySchemaObject): AnySchemaObject {
  const infos = new Map<object, NodeInfo>();
  const counts = new Map<string, number>();
  measure(root, infos, counts);
  const definitions: Record<string, AnySchemaObject> = {};
  const ids = new Map<string, string>();

  const visit = (node: AnySchemaObject): AnySchemaObject => {
    const info = infos.get(node)!;
    if (node !== root && info.nodes >= MIN_SHARED_NODES && (counts.get(info.hash) ?? 0) > 1) {
      let id = ids.get(info.hash);
      if (id === undefined) {
        id = `shared${ids.size}`;
        ids.set(info.hash, id);
        definitions[id] = rewriteChildren(node);
      }
      return { $ref: `#/definitions/${id}` };
    }
    return rewriteChildren(node);
  };

  const rewriteChildren = (node: AnySchemaObject): AnySchemaObject => {
    for (const key of Object.keys(node)) {
      const value: unknown = node[key];
      if (key === 'properties' && isPlainObject(value)) {
        for (const name of Object.keys(value)) setOwn(value, name, visit(value[name] as AnySchemaObject));
      } else if (key !== 'not' && SINGLE_CHILDREN.has(key) && isPlainObject(value)) {
        node[key] = visit(value);
      }
      // Branches of anyOf/oneOf/allOf/not stay inline: their errors are grouped by schema path,
      // which a $ref would cut.
    }
    return node;
  };

  rewriteChildren(root);
  if (ids.size > 0) root.definitions = definitions;
  return root;
}
