/**
 * Drift: objects changed or deleted on the cluster by someone else after a sync. One watch per
 * kind of the application's last plan (selected by our label) sees every change as it happens;
 * an object whose live state no longer matches our last apply (our hash, our field ownership,
 * then the server's dry-run as the judge) is reported. It only reports: restoring is a sync,
 * which the operator's reconciler runs under its self-heal policy (operator/self-heal.ts).
 */
import { ErrorCodes, GitOpsError, gvkOf, keyOf, objectKeyToString, toGitOpsError } from '../runtime/index.js';
import type { KubeObject, ObjectKey } from '../runtime/index.js';
import { watchObjects } from '../kube/index.js';
import { applyObject, isUpToDate } from './apply.js';
import type { SyncEngine } from './engine.js';
import type { FieldChange } from './diff.js';
import { APPLICATION_LABEL } from './marks.js';
import type { Plan, PlannedObject } from './plan.js';

export interface DriftEvent {
  application: string;
  id: string;
  key: ObjectKey;
  /** `modified`: its fields differ from our last apply; `deleted`: it is gone. */
  reason: 'modified' | 'deleted';
  changes?: FieldChange[];
  /** Checking the object failed (the event then says `modified`). */
  error?: GitOpsError;
  at: string;
}

export interface DriftWatchOptions {
  onDrift?: (event: DriftEvent) => void;
  /** The objects to watch, planned; the engine's last plan of the application by default. */
  plan?: Plan;
  signal?: AbortSignal;
}

/** Watches an application's objects for drift until stopped. */
export class DriftWatcher {
  readonly application: string;
  readonly events: DriftEvent[] = [];
  readonly #engine: SyncEngine;
  readonly #options: DriftWatchOptions;
  readonly #controller = new AbortController();
  readonly #busy = new Set<string>();
  readonly #waiters = new Set<() => void>();
  #done: Promise<void> = Promise.resolve();

  constructor(engine: SyncEngine, application: string, options: DriftWatchOptions = {}) {
    this.#engine = engine;
    this.application = application;
    this.#options = options;
    options.signal?.addEventListener('abort', () => this.stop(), { once: true });
  }

  /** Starts one watch per kind of the application's last plan; resolves once they are open. */
  async start(): Promise<void> {
    const plan = this.#plan();
    if (plan === undefined) {
      throw new GitOpsError(
        ErrorCodes.NotFound,
        `application ${this.application} has not been synced by this engine yet: nothing to watch`,
      );
    }
    const kinds = new Map<string, PlannedObject>();
    for (const p of plan.objects) kinds.set(`${p.key.group}/${p.object.apiVersion}/${p.key.kind}`, p);
    const client = this.#engine.client;
    const infos = await Promise.all(
      [...kinds.values()].map((p) => client.mapper.resourceFor(gvkOf(p.object))),
    );
    const ready: Promise<void>[] = [];
    const loops = infos.map((info) => {
      let opened!: () => void;
      ready.push(new Promise<void>((resolve) => (opened = resolve)));
      // What the first list holds: a planned object missing from it was deleted before we looked.
      let seen: Set<string> | undefined = new Set<string>();
      const firstListDone = (): void => {
        if (seen === undefined) return;
        const listed = seen;
        seen = undefined;
        for (const p of plan.objects) {
          if (p.key.group === info.group && p.key.kind === info.kind && !listed.has(p.id))
            void this.#check(undefined, p.id);
        }
      };
      return (async () => {
        const events = watchObjects(client, info, {
          labelSelector: `${APPLICATION_LABEL}=${this.application}`,
          signal: this.#controller.signal,
          onRelist: () => {
            firstListDone();
            opened();
          },
        });
        try {
          for await (const event of events) {
            let id: string;
            try {
              id = objectKeyToString(keyOf(event.object));
            } catch {
              continue;
            }
            seen?.add(id);
            void this.#check(event.type === 'DELETED' ? undefined : event.object, id);
          }
        } catch (err) {
          if (!this.#controller.signal.aborted)
            this.#emit({ ...this.#base(event0(err)), reason: 'modified', error: toGitOpsError(err) });
        } finally {
          // Also when stopped before the first list came: start() must not wait for it.
          opened();
        }
      })();
    });
    this.#done = Promise.all(loops).then(() => undefined);
    await Promise.all(ready);
  }

  // One lookup per watch event: a map per plan, not a scan of 10,000 planned objects.
  readonly #byId = new WeakMap<Plan, Map<string, PlannedObject>>();

  #planned(id: string): PlannedObject | undefined {
    const plan = this.#plan();
    if (plan === undefined) return undefined;
    let byId = this.#byId.get(plan);
    if (byId === undefined) {
      byId = new Map(plan.objects.map((p) => [p.id, p]));
      this.#byId.set(plan, byId);
    }
    return byId.get(id);
  }

  #plan(): Plan | undefined {
    return this.#options.plan ?? this.#engine.lastPlan(this.application);
  }

  /** Stops every watch. */
  async stop(): Promise<void> {
    this.#controller.abort();
    await this.#done;
  }

  /** Resolves with the next event matching `predicate` (or rejects after `timeoutMs`). */
  next(predicate: (event: DriftEvent) => boolean = () => true, timeoutMs = 30_000): Promise<DriftEvent> {
    const seen = this.events.length;
    return new Promise((resolve, reject) => {
      let from = seen;
      const check = (): void => {
        for (; from < this.events.length; from++) {
          const event = this.events[from]!;
          if (predicate(event)) {
            cleanup();
            resolve(event);
            return;
          }
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new GitOpsError(ErrorCodes.Timeout, `no drift event within ${timeoutMs} ms`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(check);
      };
      this.#waiters.add(check);
    });
  }

  async #check(live: KubeObject | undefined, id: string): Promise<void> {
    const planned = this.#planned(id);
    if (planned === undefined || this.#busy.has(id)) return;
    // Objects applied once (IfNotPresent) or never (Ignore) have no drift to report.
    const policy = planned.options.applyPolicy;
    if (policy === 'Ignore' || (policy === 'IfNotPresent' && live !== undefined)) return;
    if (
      live !== undefined &&
      (live.metadata?.deletionTimestamp !== undefined || isUpToDate(live, planned, this.#engine.fieldManager))
    ) {
      return;
    }
    this.#busy.add(id);
    try {
      const client = this.#engine.client;
      const ctx = {
        client,
        fieldManager: this.#engine.fieldManager,
        force: true,
        signal: this.#controller.signal,
      };
      // The server's dry-run is the judge: a field our ownership check cannot see is no drift.
      const trial = await applyObject(ctx, planned, live, true);
      if (trial.action === 'unchanged') return;
      const event: DriftEvent = {
        ...this.#base(planned),
        reason: live === undefined ? 'deleted' : 'modified',
        ...(trial.changes === undefined ? {} : { changes: trial.changes }),
      };
      this.#emit(event);
    } catch (err) {
      if (!this.#controller.signal.aborted)
        this.#emit({ ...this.#base(planned), reason: 'modified', error: toGitOpsError(err) });
    } finally {
      this.#busy.delete(id);
    }
  }

  #base(p: { id: string; key: ObjectKey }): Omit<DriftEvent, 'reason'> {
    return { application: this.application, id: p.id, key: p.key, at: new Date().toISOString() };
  }

  #emit(event: DriftEvent): void {
    this.events.push(event);
    this.#options.onDrift?.(event);
    for (const waiter of [...this.#waiters]) waiter();
  }
}

function event0(err: unknown): { id: string; key: ObjectKey } {
  const object =
    err instanceof GitOpsError && typeof err.details.object === 'string' ? err.details.object : '';
  return { id: object, key: { group: '', kind: '', name: object } };
}
