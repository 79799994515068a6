/** libgitops: the library layers, re-exported. Each is also its own subpath (`libgitops/runtime`, ...). */
export * from './runtime/index.js';
export * from './serializer/index.js';
export * from './git/index.js';
