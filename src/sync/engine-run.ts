/**
 * One sync under way: its request, plan and settings, what is live (one labelled list per kind),
 * each object's result so far, the error that stopped it, and the inventory, recorded before
 * anything is created so that a sync cut short still knows what to prune. The engine's steps
 * (engine-stage.ts, engine-wait.ts, engine-hooks.ts, engine-prune.ts) all work on a `SyncRun`.
 */
import {
  ErrorCodes,
  GitOpsError,
  gvkOf,
  keyOf,
  objectKeyToString,
  parseApiVersion,
  parseObjectKey,
  toGitOpsError,
  withContext,
} from '../runtime/index.js';
import type { GroupVersionKind, KubeObject } from '../runtime/index.js';
import type { KubeClient } from '../kube/index.js';
import type { SyncEngine } from './engine.js';
import { desiredStateHash } from './hooks.js';
import { Inventory } from './inventory.js';
import type { InventoryEntry } from './inventory.js';
import { APPLICATION_LABEL } from './marks.js';
import { MISSING } from './health.js';
import type { Plan, PlannedObject } from './plan.js';
import type { PruneOutcome } from './prune.js';
import { plannedResult } from './result.js';
import type { ObjectResult } from './result.js';

/** What a sync does beyond applying: one type, passed through whole by the operator. */
export interface SyncOptions {
  /** Delete objects that left the input (default false). */
  prune?: boolean;
  /** Allow pruning everything when the input is empty (default false: refused). */
  allowEmpty?: boolean;
  /** Change nothing; report what would happen, with per-object changes. */
  dryRun?: boolean;
  /** Wait for each wave to be Healthy before the next one (default false). */
  waitForHealth?: boolean;
  /** Take fields other managers own (default true). */
  force?: boolean;
  propagationPolicy?: 'Background' | 'Foreground' | 'Orphan';
}

// The compiler checks that every option is listed here, so syncOptionsOf never drops a new one.
const SYNC_OPTION_KEYS = Object.keys({
  prune: true,
  allowEmpty: true,
  dryRun: true,
  waitForHealth: true,
  force: true,
  propagationPolicy: true,
} satisfies Record<keyof SyncOptions, true>) as Array<keyof SyncOptions>;

/** The sync options among `source`'s fields (e.g. an Application's policy), and nothing else. */
export function syncOptionsOf(source: SyncOptions): SyncOptions {
  const options: Record<string, unknown> = {};
  for (const key of SYNC_OPTION_KEYS) if (source[key] !== undefined) options[key] = source[key];
  return options as SyncOptions;
}

/** Progress of a sync: the wave (phase and sync-wave with objects to apply) it starts. */
export interface WaveProgress {
  /** From 0. */
  index: number;
  total: number;
  /** Objects to apply in this wave. */
  objects: number;
}

export interface SyncRequest extends SyncOptions {
  /** Name of the application (a label value): owner of the objects and of the inventory. */
  application: string;
  /** Desired objects (Lists are expanded); bad ones fail alone. */
  objects: readonly unknown[];
  /** Namespace for namespaced objects that name none; the client's default. */
  defaultNamespace?: string;
  /** Overrides the engine's inventory namespace for this application. */
  inventoryNamespace?: string;
  /** Problems met while producing `objects` (e.g. unreadable files): pruning is then held back. */
  inputErrors?: readonly GitOpsError[];
  /** Called as each wave with objects starts to apply, from the sync's own plan. */
  onWave?: (wave: WaveProgress) => void;
  signal?: AbortSignal;
}

/** The engine's settings a sync reads. */
export type EngineSettings = Pick<
  SyncEngine,
  | 'client'
  | 'fieldManager'
  | 'inventoryNamespace'
  | 'concurrency'
  | 'crdEstablishedTimeoutMs'
  | 'healthTimeoutMs'
  | 'healthPollIntervalMs'
  | 'hookTimeoutMs'
>;

export class SyncRun {
  readonly engine: EngineSettings;
  readonly client: KubeClient;
  readonly request: SyncRequest;
  readonly plan: Plan;
  readonly dryRun: boolean;
  readonly force: boolean;
  readonly inventory: Inventory;
  /** The inventory as read at the start. */
  stored: ReadonlyMap<string, InventoryEntry> = new Map();
  readonly live = new Map<string, KubeObject>();
  /** Kinds we could list (so an object of one that is not in `live` does not exist for us). */
  readonly listed = new Set<string>();
  readonly results = new Map<string, ObjectResult>();
  readonly hookResults: ObjectResult[] = [];
  readonly errors: GitOpsError[] = [];
  /** Set once the sync cannot go on (server unreachable, cancelled, unhealthy wave, failed hook). */
  stop?: GitOpsError;
  /** Kinds of CRDs that could not be established, with why. */
  readonly crdProblems = new Map<string, GitOpsError>();
  /** Kinds of CRDs established during this run (their resources may 404 for a moment). */
  readonly freshKinds = new Set<string>();
  /** Objects applied since health was last waited for, and the wave last applied. */
  unsettled: PlannedObject[] = [];
  lastWave: string | undefined;
  /** Hash of the desired state; hooks are due when it is not the one whose hooks last ran. */
  readonly stateHash: string;
  hooksDue = false;
  #inventoryPending = false;

  private constructor(engine: EngineSettings, request: SyncRequest, plan: Plan) {
    this.engine = engine;
    this.client = engine.client;
    this.request = request;
    this.plan = plan;
    this.dryRun = request.dryRun ?? false;
    this.force = request.force ?? true;
    this.inventory = new Inventory(
      engine.client,
      request.application,
      request.inventoryNamespace ?? engine.inventoryNamespace,
    );
    this.stateHash = desiredStateHash(plan);
  }

  /** Reads the inventory and what is live; a failure stops the run before anything is applied. */
  static async start(engine: EngineSettings, request: SyncRequest, plan: Plan): Promise<SyncRun> {
    const run = new SyncRun(engine, request, plan);
    try {
      run.stored = await run.inventory.read(request.signal);
      await readLive(run);
    } catch (err) {
      run.halt(err);
    }
    run.#inventoryPending = !run.dryRun && run.stop === undefined;
    run.hooksDue = plan.hooks.length > 0 && run.inventory.hooksRanFor !== run.stateHash;
    return run;
  }

  get signal(): AbortSignal | undefined {
    return this.request.signal;
  }

  /** Stops the run with `err` (the first reason wins). */
  halt(err: unknown, context?: string): void {
    if (this.stop !== undefined) return;
    this.stop = context === undefined ? toGitOpsError(err) : withContext(err, context);
  }

  /**
   * Records the inventory of this sync (what was stored plus every planned object) once, before
   * the first object is created; a failure stops the run, unless the inventory's namespace is
   * one this sync creates (then it is tried again before the next stage).
   */
  async recordInventory(): Promise<void> {
    if (!this.#inventoryPending) return;
    const entries = new Map(this.stored);
    for (const p of this.plan.objects) entries.set(p.id, { id: p.id, apiVersion: p.object.apiVersion });
    try {
      await this.inventory.write(entries, this.signal);
      this.#inventoryPending = false;
    } catch (err) {
      if (this.#inventoryNamespaceComing(err)) return;
      this.#inventoryPending = false;
      this.halt(
        err,
        `cannot record the inventory ${this.inventory.namespace}/${this.inventory.name}, so nothing is applied`,
      );
    }
  }

  #inventoryNamespaceComing(err: unknown): boolean {
    return (
      err instanceof GitOpsError &&
      err.code === ErrorCodes.NotFound &&
      this.plan.objects.some(
        (p) =>
          p.key.kind === 'Namespace' &&
          p.key.group === '' &&
          p.key.name === this.inventory.namespace &&
          !this.results.has(p.id),
      )
    );
  }
}

/** Lists each kind of the plan and of the inventory once, by our label, into `run.live`. */
async function readLive(run: SyncRun): Promise<void> {
  const types = new Map<string, GroupVersionKind>();
  for (const p of run.plan.objects) {
    const gvk = gvkOf(p.object);
    types.set(typeId(gvk), gvk);
  }
  for (const entry of run.stored.values()) {
    const key = parseObjectKey(entry.id);
    const gvk = { ...parseApiVersion(entry.apiVersion), kind: key.kind };
    types.set(typeId(gvk), gvk);
  }
  await Promise.all([...types.values()].map((gvk) => listKind(run, gvk)));
}

async function listKind(run: SyncRun, gvk: GroupVersionKind): Promise<void> {
  const info = run.client.mapper.cachedResource(gvk) ?? (await run.client.mapper.find(gvk, run.signal));
  // A kind the cluster does not serve yet has no objects: nothing to read.
  if (info === undefined) {
    run.listed.add(`${gvk.group}/${gvk.kind}`);
    return;
  }
  try {
    const list = await run.client.listResource(info, {
      labelSelector: `${APPLICATION_LABEL}=${run.request.application}`,
      signal: run.signal,
    });
    for (const item of list.items) run.live.set(objectKeyToString(keyOf(item)), item);
    run.listed.add(`${gvk.group}/${gvk.kind}`);
  } catch (err) {
    // Without cluster-wide list rights, each object is read on its own instead.
    if (!(err instanceof GitOpsError && err.code === ErrorCodes.Forbidden)) throw err;
  }
}

function typeId(gvk: GroupVersionKind): string {
  return `${gvk.group}/${gvk.version}/${gvk.kind}`;
}

/** Every object's result in plan order, then hooks, Skip hooks, rejected input, pruning candidates. */
export function objectResults(run: SyncRun, pruned: readonly PruneOutcome[]): ObjectResult[] {
  const { plan } = run;
  return [
    ...plan.objects.map(
      (p) =>
        run.results.get(p.id) ?? plannedResult(p, 'skipped', { error: run.stop, message: 'not attempted' }),
    ),
    ...run.hookResults,
    ...plan.skipped.map((p) =>
      plannedResult(p, 'skipped', { message: 'not applied: a hook of the Skip phase' }),
    ),
    ...plan.rejected.map((r): ObjectResult => ({
      ...(r.id === undefined ? {} : { id: r.id }),
      ...(r.key === undefined ? {} : { key: r.key }),
      action: 'failed',
      error: r.error,
      health: MISSING,
    })),
    ...pruned.map((o) => o.result),
  ];
}
