/** The server layer: the operator's HTTP API, probes, metrics and push webhook. */
export { createServer } from './server.js';
export { DEFAULT_SERVER_LIMITS } from './server.js';
export type { OperatorServer, ServerLimits, ServerOptions } from './server.js';
export { operatorMetrics } from './metrics.js';
export type { OperatorMetrics } from './metrics.js';
