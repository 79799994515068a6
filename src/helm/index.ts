/**
 * Helm charts rendered with the `helm` command (v3): see chart.ts. The binary, not a
 * re-implementation of Go templates: see docs/architecture.md.
 */
export type {
  ChartRepository,
  HelmCapabilities,
  HelmParameter,
  HelmRendererOptions,
  HelmSource,
  RenderChartRequest,
} from './chart.js';
export { HelmRenderer } from './chart.js';
export type { HelmRunOptions } from './helm-command.js';
export { HELM_ENV, helmBinary, runHelm } from './helm-command.js';
