/**
 * ObjectKey: the identity of one object, without its version (a Deployment is the same object
 * whether it is read as apps/v1 or extensions/v1beta1).
 *
 * String form: `<group>/<kind>/<namespace>/<name>`, always four parts. The core group and the
 * namespace of a cluster-scoped object are empty parts: `apps/Deployment/default/web`,
 * `/ConfigMap/default/settings`, `/Namespace//monitoring`,
 * `rbac.authorization.k8s.io/ClusterRole//system:auth`. Inside a part, `%` and `/` are written
 * `%25` and `%2F`, so the form stays unambiguous for any name and parses back exactly.
 */
import { ErrorCodes, GitOpsError } from './errors.js';
import { gvkOf } from './gvk.js';
import { isPlainObject } from './types.js';

export interface ObjectKey {
  group: string;
  kind: string;
  /** Absent for cluster-scoped objects. */
  namespace?: string;
  name: string;
}

/** The key of an object; MissingName if it has no metadata.name. */
export function keyOf(obj: unknown): ObjectKey {
  const { group, kind } = gvkOf(obj);
  const metadata = isPlainObject(obj) && isPlainObject(obj.metadata) ? obj.metadata : {};
  const name = metadata.name;
  if (typeof name !== 'string' || name === '') {
    throw new GitOpsError(ErrorCodes.MissingName, `the ${kind} has no metadata.name, so it has no key`, {
      details: { field: '.metadata.name', fieldSegments: ['metadata', 'name'] },
    });
  }
  const namespace = metadata.namespace;
  return typeof namespace === 'string' && namespace !== ''
    ? { group, kind, namespace, name }
    : { group, kind, name };
}

function escapePart(part: string): string {
  return part.replace(/%/g, '%25').replace(/\//g, '%2F');
}

function unescapePart(part: string): string {
  return part.replace(/%(25|2F)/gi, (escape) => (escape === '%25' ? '%' : '/'));
}

export function objectKeyToString(key: ObjectKey): string {
  return [key.group, key.kind, key.namespace ?? '', key.name].map(escapePart).join('/');
}

export function parseObjectKey(text: string): ObjectKey {
  const parts = text.split('/');
  if (parts.length !== 4 || parts[1] === '' || parts[3] === '') {
    throw new GitOpsError(
      ErrorCodes.BadRequest,
      `${JSON.stringify(text)} is not an object key of the form "<group>/<kind>/<namespace>/<name>" ` +
        '(e.g. "apps/Deployment/default/web", "/Namespace//monitoring")',
      { details: { value: text } },
    );
  }
  const [group, kind, namespace, name] = parts.map(unescapePart) as [string, string, string, string];
  return namespace === '' ? { group, kind, name } : { group, kind, namespace, name };
}

export function objectKeysEqual(a: ObjectKey, b: ObjectKey): boolean {
  return (
    a.group === b.group &&
    a.kind === b.kind &&
    (a.namespace ?? '') === (b.namespace ?? '') &&
    a.name === b.name
  );
}

/** A Map whose keys are ObjectKeys, compared by value. */
export class ObjectKeyMap<V> {
  readonly #entries = new Map<string, [ObjectKey, V]>();

  get size(): number {
    return this.#entries.size;
  }

  get(key: ObjectKey): V | undefined {
    return this.#entries.get(objectKeyToString(key))?.[1];
  }

  has(key: ObjectKey): boolean {
    return this.#entries.has(objectKeyToString(key));
  }

  set(key: ObjectKey, value: V): this {
    this.#entries.set(objectKeyToString(key), [normalizeKey(key), value]);
    return this;
  }

  delete(key: ObjectKey): boolean {
    return this.#entries.delete(objectKeyToString(key));
  }

  clear(): void {
    this.#entries.clear();
  }

  *keys(): IterableIterator<ObjectKey> {
    for (const [key] of this.#entries.values()) yield key;
  }

  *values(): IterableIterator<V> {
    for (const [, value] of this.#entries.values()) yield value;
  }

  entries(): IterableIterator<[ObjectKey, V]> {
    return this.#entries.values();
  }

  [Symbol.iterator](): IterableIterator<[ObjectKey, V]> {
    return this.entries();
  }

  forEach(fn: (value: V, key: ObjectKey) => void): void {
    for (const [key, value] of this.#entries.values()) fn(value, key);
  }
}

// A copy without an empty namespace, so that equal keys look equal when iterated.
function normalizeKey(key: ObjectKey): ObjectKey {
  const { group, kind, namespace, name } = key;
  return namespace === undefined || namespace === ''
    ? { group, kind, name }
    : { group, kind, namespace, name };
}
