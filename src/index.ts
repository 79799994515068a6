/**
 * libgitops: the library layers, re-exported under their plain names (no two layers export the
 * same name; a test keeps it so). Each is also its own subpath (`libgitops/runtime`, ...).
 */
export * from './runtime/index.js';
export * from './serializer/index.js';
export * from './filter/index.js';
export * from './patch/index.js';
export * from './storage/index.js';
export * from './git/index.js';
export * from './gitstorage/index.js';
export * from './forge/index.js';
export * from './kube/index.js';
export * from './helm/index.js';
