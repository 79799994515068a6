import { describe, expect, it } from 'vitest';

import { nextStep, type ReconcileFacts, type ReconcileStep } from '../../src/operator/reconcile-decision.js';

const base: ReconcileFacts = {
  reason: 'timer',
  suspended: false,
  waitingOn: [],
  dryRun: false,
  selfHeal: false,
  driftKnown: true,
  rendered: false,
};
const fetched = { revision: 'b', applied: { revision: 'a', complete: true } };
const applied = { revision: 'a', applied: { revision: 'a', complete: true } };

// Each row: what is known so far, and what the reconciler must do next.
const table: [string, Partial<ReconcileFacts>, ReconcileStep][] = [
  ['suspended', { suspended: true, waitingOn: ['ns/db'], ...fetched }, 'suspended'],
  ['a dependency is not healthy', { waitingOn: ['ns/db'] }, 'wait'],
  ['nothing fetched yet', {}, 'fetch'],
  ['a new revision, not rendered', { ...fetched }, 'render'],
  ['a new revision, rendered', { ...fetched, rendered: true }, 'sync'],
  ['nothing ever applied', { revision: 'a', applied: null, rendered: true }, 'sync'],
  [
    'an incomplete apply of the same revision',
    { revision: 'a', applied: { revision: 'a', complete: false }, rendered: true },
    'sync',
  ],
  ['the applied revision, no drift pending', { ...applied }, 'unchanged'],
  ['the applied revision, a manual sync', { ...applied, reason: 'manual', rendered: true }, 'sync'],
  ['the applied revision, a dry run', { ...applied, dryRun: true, rendered: true }, 'sync'],
  ['the applied revision, drift pending: render first', { ...applied, driftKnown: false }, 'render'],
  [
    'the applied revision, drift pending, rendered',
    { ...applied, driftKnown: false, rendered: true },
    'check-drift',
  ],
  [
    'drift pending but none found',
    { ...applied, driftKnown: false, rendered: true, drifted: false },
    'confirm',
  ],
  [
    'drift confirmed, self-heal off',
    { ...applied, driftKnown: false, rendered: true, drifted: true },
    'report-drift',
  ],
  ['self-heal on: the applied revision is rendered', { ...applied, selfHeal: true }, 'render'],
  ['self-heal on: then checked', { ...applied, selfHeal: true, rendered: true }, 'check-drift'],
  ['self-heal on, no drift', { ...applied, selfHeal: true, rendered: true, drifted: false }, 'confirm'],
  ['self-heal on, drift', { ...applied, selfHeal: true, rendered: true, drifted: true }, 'sync'],
  [
    'waiting wins over everything',
    { ...applied, waitingOn: ['ns/x'], rendered: true, drifted: true },
    'wait',
  ],
];

describe('nextStep', () => {
  it.each(table)('%s', (_name, facts, step) => {
    expect(nextStep({ ...base, ...facts })).toBe(step);
  });
});
