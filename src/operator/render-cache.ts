/**
 * Rendered output remembered by Git object id: a path's tree id (or a kustomization's key) maps
 * to its objects, and a file's blob id to what it decodes to. Ids name content, so an entry is
 * never stale; the oldest entries go first once the cache is full.
 */
import type { KubeObject } from '../runtime/index.js';

export interface RenderCacheOptions {
  /** Most rendered trees kept; 256 by default. */
  maxTrees?: number;
  /** Most decoded files kept; 20,000 by default. */
  maxBlobs?: number;
}

export interface RenderCacheStats {
  treeHits: number;
  treeMisses: number;
  blobHits: number;
  blobMisses: number;
}

export class RenderCache {
  private readonly trees = new Map<string, readonly KubeObject[]>();
  private readonly blobs = new Map<string, readonly KubeObject[]>();
  private readonly maxTrees: number;
  private readonly maxBlobs: number;
  readonly stats: RenderCacheStats = { treeHits: 0, treeMisses: 0, blobHits: 0, blobMisses: 0 };

  constructor(options: RenderCacheOptions = {}) {
    this.maxTrees = options.maxTrees ?? 256;
    this.maxBlobs = options.maxBlobs ?? 20_000;
  }

  tree(key: string): readonly KubeObject[] | undefined {
    return this.hit(this.trees, key, 'tree');
  }

  setTree(key: string, objects: readonly KubeObject[]): void {
    remember(this.trees, key, objects, this.maxTrees);
  }

  blob(oid: string): readonly KubeObject[] | undefined {
    return this.hit(this.blobs, oid, 'blob');
  }

  setBlob(oid: string, objects: readonly KubeObject[]): void {
    remember(this.blobs, oid, objects, this.maxBlobs);
  }

  private hit(
    map: Map<string, readonly KubeObject[]>,
    key: string,
    kind: 'tree' | 'blob',
  ): readonly KubeObject[] | undefined {
    const found = map.get(key);
    if (found === undefined) {
      this.stats[`${kind}Misses`]++;
      return undefined;
    }
    // Re-inserted so the map's order is least recently used first.
    map.delete(key);
    map.set(key, found);
    this.stats[`${kind}Hits`]++;
    return found;
  }
}

function remember<V>(map: Map<string, V>, key: string, value: V, max: number): void {
  map.delete(key);
  map.set(key, value);
  while (map.size > max) map.delete(map.keys().next().value as string);
}
