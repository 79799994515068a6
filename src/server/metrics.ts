/**
 * Prometheus metrics of one operator, in a registry of their own (never the process-global one,
 * so two servers in one process, as in tests, do not share counters).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

import type { Operator, SyncPhase } from '../operator/index.js';

const PHASES: readonly SyncPhase[] = ['Pending', 'Syncing', 'Synced', 'OutOfSync', 'Failed', 'Waiting'];

export interface OperatorMetrics {
  registry: Registry;
  webhookRequests: Counter<'status'>;
  apiRequests: Counter<'method' | 'route' | 'status'>;
  /** Stops listening to the operator. */
  close(): void;
}

export function operatorMetrics(
  operator: Operator,
  options: { processMetrics?: boolean } = {},
): OperatorMetrics {
  const registry = new Registry();
  if (options.processMetrics !== false) collectDefaultMetrics({ register: registry });
  const syncs = new Counter({
    name: 'gitops_sync_total',
    help: 'Reconciles by application and result (synced, unchanged, healed, drifted, failed, waiting).',
    labelNames: ['app', 'result'] as const,
    registers: [registry],
  });
  const syncDuration = new Histogram({
    name: 'gitops_sync_duration_seconds',
    help: 'Time from a trigger to the end of its reconcile.',
    labelNames: ['app'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [registry],
  });
  const objects = new Gauge({
    name: 'gitops_objects',
    help: 'Objects of the last sync by application and action.',
    labelNames: ['app', 'action'] as const,
    registers: [registry],
  });
  const health = new Gauge({
    name: 'gitops_application_health',
    help: '1 for the health an application is in, per application.',
    labelNames: ['app', 'health'] as const,
    registers: [registry],
  });
  const phase = new Gauge({
    name: 'gitops_application_phase',
    help: '1 for the phase an application is in (Synced, OutOfSync, Failed, ...), per application.',
    labelNames: ['app', 'phase'] as const,
    registers: [registry],
  });
  const fetches = new Counter({
    name: 'gitops_git_fetch_total',
    help: 'Git clones and fetches by result.',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  const fetchDuration = new Histogram({
    name: 'gitops_git_fetch_duration_seconds',
    help: 'Duration of Git clones and fetches.',
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const drifts = new Counter({
    name: 'gitops_drift_total',
    help: 'Applied objects found changed or deleted on the cluster (self-heal watch), by application and reason.',
    labelNames: ['app', 'reason'] as const,
    registers: [registry],
  });
  const webhookRequests = new Counter({
    name: 'gitops_webhook_requests_total',
    help: 'Webhook deliveries by HTTP status answered.',
    labelNames: ['status'] as const,
    registers: [registry],
  });
  const apiRequests = new Counter({
    name: 'gitops_api_requests_total',
    help: 'API requests by method, route and HTTP status.',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const stop = operator.on((event) => {
    switch (event.type) {
      case 'sync':
        syncs.inc({ app: event.record.app, result: event.record.result });
        syncDuration.observe({ app: event.record.app }, event.record.durationMs / 1000);
        break;
      case 'drift':
        drifts.inc({ app: event.app, reason: event.reason });
        break;
      case 'fetch':
        fetches.inc({ result: event.result });
        fetchDuration.observe(event.durationMs / 1000);
        break;
      case 'status': {
        const counts = new Map<string, number>();
        for (const o of event.status.objects ?? []) counts.set(o.action, (counts.get(o.action) ?? 0) + 1);
        objects.remove({ app: event.app });
        for (const [action, n] of counts) objects.set({ app: event.app, action }, n);
        for (const h of ['Healthy', 'Progressing', 'Degraded', 'Missing', 'Unknown']) {
          health.set({ app: event.app, health: h }, h === event.status.health ? 1 : 0);
        }
        for (const p of PHASES) phase.set({ app: event.app, phase: p }, p === event.status.phase ? 1 : 0);
        break;
      }
      default:
        break;
    }
  });
  return { registry, webhookRequests, apiRequests, close: stop };
}
