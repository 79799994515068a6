/**
 * The inventory of an application: which objects it applied, kept in the cluster as one
 * ConfigMap (`libgitops-inventory-<application>` in a namespace the operator chooses), so that
 * whatever runs the next sync, on whatever machine, knows what to prune. Each entry keeps the
 * apiVersion it was applied with, to find the object again even after its kind left the input.
 */
import { gunzipSync, gzipSync } from 'node:zlib';

import { ErrorCodes, GitOpsError, isPlainObject, makeError } from '../runtime/index.js';
import type { KubeObject } from '../runtime/index.js';
import type { KubeClient } from '../kube/index.js';
import { INVENTORY_LABEL, MARK_PREFIX } from './marks.js';

/** Annotation on the inventory: hash of the desired state whose hooks last ran to the end. */
export const HOOKS_RAN_FOR_ANNOTATION = `${MARK_PREFIX}hooks-ran-for`;

export interface InventoryEntry {
  /** ObjectKey string. */
  id: string;
  apiVersion: string;
}

const DATA_KEY = 'objects.json';
const GZIP_KEY = 'objects.json.gz';
// ConfigMaps hold at most 1 MiB; past this much JSON the list is stored gzipped.
const PLAIN_LIMIT = 512 * 1024;

export class Inventory {
  readonly application: string;
  readonly namespace: string;
  readonly name: string;
  readonly #client: KubeClient;
  #stored: Map<string, InventoryEntry> | undefined;
  #hooksRanFor: string | undefined;
  #storedHooksRanFor: string | undefined;

  constructor(client: KubeClient, application: string, namespace: string) {
    this.#client = client;
    this.application = application;
    this.namespace = namespace;
    this.name = `libgitops-inventory-${application}`;
  }

  /** The entries as last read or written (read() first). */
  get entries(): ReadonlyMap<string, InventoryEntry> {
    return this.#stored ?? new Map();
  }

  /** Reads the ConfigMap; an absent one is an empty inventory. */
  async read(signal?: AbortSignal): Promise<ReadonlyMap<string, InventoryEntry>> {
    const object = await this.#client.get(
      { apiVersion: 'v1', kind: 'ConfigMap', namespace: this.namespace, name: this.name },
      signal,
    );
    this.#stored = object === undefined ? new Map() : parseInventory(object, this.namespace);
    this.#storedHooksRanFor = object?.metadata?.annotations?.[HOOKS_RAN_FOR_ANNOTATION];
    this.#hooksRanFor ??= this.#storedHooksRanFor;
    return this.#stored;
  }

  /** The desired state whose hooks last ran to the end (hooks run again only when it changes). */
  get hooksRanFor(): string | undefined {
    return this.#storedHooksRanFor;
  }

  /** Records, with the next write, that the hooks of this desired state ran. */
  setHooksRanFor(hash: string): void {
    this.#hooksRanFor = hash;
  }

  /** True when `entries` differ from what is stored. */
  differs(entries: ReadonlyMap<string, InventoryEntry>): boolean {
    const stored = this.#stored ?? new Map<string, InventoryEntry>();
    if (stored.size !== entries.size) return true;
    for (const [id, entry] of entries) if (stored.get(id)?.apiVersion !== entry.apiVersion) return true;
    return false;
  }

  /** Stores `entries` (server-side apply with our field manager); no request if unchanged. */
  async write(entries: ReadonlyMap<string, InventoryEntry>, signal?: AbortSignal): Promise<boolean> {
    if (this.#stored !== undefined && !this.differs(entries) && this.#hooksRanFor === this.#storedHooksRanFor)
      return false;
    const list = [...entries.values()]
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .map((e) => [e.id, e.apiVersion]);
    const json = JSON.stringify(list);
    const body: KubeObject = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: this.name,
        namespace: this.namespace,
        labels: { [INVENTORY_LABEL]: this.application },
        ...(this.#hooksRanFor === undefined
          ? {}
          : { annotations: { [HOOKS_RAN_FOR_ANNOTATION]: this.#hooksRanFor } }),
      },
    };
    // Both keys are always sent, one of them empty, so switching form drops the other one.
    if (json.length <= PLAIN_LIMIT) {
      body.data = { [DATA_KEY]: json };
      body.binaryData = {};
    } else {
      body.data = {};
      body.binaryData = { [GZIP_KEY]: gzipSync(json).toString('base64') };
    }
    await this.#client.apply(body, { signal });
    this.#stored = new Map(entries);
    this.#storedHooksRanFor = this.#hooksRanFor;
    return true;
  }
}

function parseInventory(object: KubeObject, namespace: string): Map<string, InventoryEntry> {
  const data = isPlainObject(object.data) ? object.data : {};
  const binary = isPlainObject(object.binaryData) ? object.binaryData : {};
  let json: string | undefined;
  try {
    if (typeof data[DATA_KEY] === 'string') json = data[DATA_KEY];
    else if (typeof binary[GZIP_KEY] === 'string')
      json = gunzipSync(Buffer.from(binary[GZIP_KEY], 'base64')).toString('utf8');
    const list: unknown = json === undefined ? [] : JSON.parse(json);
    if (!Array.isArray(list)) throw makeError.Invalid('the inventory is not a list');
    const entries = new Map<string, InventoryEntry>();
    for (const item of list) {
      if (Array.isArray(item) && typeof item[0] === 'string' && typeof item[1] === 'string') {
        entries.set(item[0], { id: item[0], apiVersion: item[1] });
      }
    }
    return entries;
  } catch (err) {
    throw new GitOpsError(
      ErrorCodes.Invalid,
      `the inventory ConfigMap ${namespace}/${object.metadata?.name} cannot be read (${err instanceof Error ? err.message : String(err)}); ` +
        'nothing is pruned until it is fixed or deleted',
      { details: { object: `/ConfigMap/${namespace}/${object.metadata?.name ?? ''}` }, cause: err },
    );
  }
}
