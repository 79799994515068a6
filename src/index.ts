/**
 * libgitops: the library layers, re-exported. Each is also its own subpath (`libgitops/runtime`,
 * ...). The cluster and forge layers use names the storage layers use too (ListOptions,
 * PullRequestRequest, ...), so here they come as namespaces: `kube.KubeClient`, `forge.providerFor`.
 */
export * from './runtime/index.js';
export * from './serializer/index.js';
export * from './filter/index.js';
export * from './storage/index.js';
export * from './git/index.js';
export * from './gitstorage/index.js';
export * as forge from './forge/index.js';
export * as kube from './kube/index.js';
