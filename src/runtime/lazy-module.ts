/**
 * A dependency loaded on first use instead of at import: the cluster client, the forges' SDKs
 * and the schema compiler take seconds to load, and most programs (and `gitops version`, `fmt`)
 * never need them. Loaded synchronously with Node's `require` (ES modules included, Node 20.19+),
 * so the APIs that use them stay synchronous.
 */
import { createRequire } from 'node:module';

const requireHere = createRequire(import.meta.url);

/** A function that loads `specifier` the first time it is called and returns it ever after. */
export function lazyModule<T>(specifier: string): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= requireHere(specifier) as T);
}
