/**
 * The operator manager: the one set-up of the operator that `gitops run`, `gitops sync`,
 * `gitops diff`, `npm start` and the benchmarks share. It opens the cluster, routes each
 * Application to its destination, makes the Operator with credentials and chart repositories
 * read from Secrets, and, for `gitops run`, follows the cluster's Applications by watching them
 * (a new or edited Application starts syncing as soon as the API server tells us) and writes
 * their status and Events back.
 */
import type { KubeClient } from '../kube/index.js';
import type { HealthStatus } from '../sync/index.js';
import { ErrorCodes, GitOpsError, backoffDelay, sleep, toGitOpsError } from '../runtime/index.js';
import { applicationKey, toApplication } from './application.js';
import type { Application, ApplicationStatus } from './application.js';
import { ApplicationClient } from './application-client.js';
import { onDestination } from './destination.js';
import { DestinationTargets } from './destinations.js';
import { EngineTarget } from './engine-target.js';
import { Operator } from './operator.js';
import type { OperatorOptions } from './operator.js';
import { chartRepositoriesFromSecrets, credentialsFromSecret } from './repository-credentials.js';
import { SyncEventRecorder } from './sync-events.js';
import type { TenancyOptions } from './tenancy.js';

/** Where the manager reports what it cannot act on (a pino logger fits). */
export interface OperatorLog {
  warn(fields: Record<string, unknown>, message: string): void;
  info?(fields: Record<string, unknown>, message: string): void;
}

export interface OperatorManagerOptions {
  /** An open target (closed with the manager); otherwise one is made from kubeconfig/context. */
  target?: EngineTarget;
  kubeconfig?: string;
  context?: string;
  /** Follow remotes and run timers (default true); false for one sync, or a diff. */
  follow?: boolean;
  dryRun?: boolean;
  /** Where bare clones are kept; temporary folders by default. */
  dataDir?: string;
  /** Accept destination kubeconfigs with `insecure-skip-tls-verify`. */
  allowInsecureDestinationTls?: boolean;
  /** Record a Kubernetes Event on the Application for each sync and write its status to it (`gitops run`). */
  reportToCluster?: boolean;
  /** Service accounts and namespace rules for the Applications (see tenancy.ts). */
  tenancy?: TenancyOptions;
  log?: OperatorLog;
}

export interface WatchApplicationsOptions {
  /** One namespace, or every namespace when undefined. */
  namespace?: string;
  signal: AbortSignal;
  /**
   * A safety net, as informers have: every this many milliseconds the watch is dropped and
   * the Applications listed afresh (nothing changes for those whose spec is the same). Off by
   * default; `gitops run --resync` sets it.
   */
  resyncMs?: number;
}

export class OperatorManager {
  readonly target: EngineTarget;
  readonly destinations: DestinationTargets;
  readonly operator: Operator;
  readonly applications: ApplicationClient;
  readonly #log: OperatorLog | undefined;
  /** Per Application, the last status written (only changes that matter are written again). */
  readonly #written = new Map<string, string>();

  constructor(options: OperatorManagerOptions = {}) {
    this.target =
      options.target ??
      new EngineTarget({
        ...(options.kubeconfig === undefined ? {} : { kubeconfig: options.kubeconfig }),
        ...(options.context === undefined ? {} : { context: options.context }),
      });
    this.#log = options.log;
    const client = this.target.client;
    this.applications = new ApplicationClient(client);
    this.destinations = new DestinationTargets(this.target, {
      ...(options.allowInsecureDestinationTls === true ? { allowInsecureTls: true } : {}),
      ...(options.tenancy === undefined ? {} : { tenancy: options.tenancy }),
    });
    const operatorOptions: OperatorOptions = {
      destinations: this.destinations,
      ...(options.follow === undefined ? {} : { follow: options.follow }),
      ...(options.dryRun === undefined ? {} : { dryRun: options.dryRun }),
      ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
      credentialsFor: (app) => credentialsFromSecret(client, app),
      chartRepositoriesFor: (app) => chartRepositoriesFromSecrets(client, app),
    };
    if (options.reportToCluster === true) {
      operatorOptions.events = new SyncEventRecorder(client, {
        onError: (error) => this.#log?.warn({ error: error.toJSON() }, 'recording an Event failed'),
      });
      operatorOptions.onStatus = (app, status) => void this.#writeStatus(app, status);
    }
    this.operator = new Operator(operatorOptions);
  }

  get client(): KubeClient {
    return this.target.client;
  }

  /**
   * Follows the Applications of a namespace (or all) until `signal` aborts: each one found is
   * added, each edit of its spec applied, each deletion removed, as the watch reports them. An
   * Application that does not parse is reported and, if it was known, removed. When the watch
   * fails (the kind is not installed yet, the server is down) it is retried with backoff, and
   * the next list also removes what was deleted meanwhile.
   */
  async watchApplications(options: WatchApplicationsOptions): Promise<void> {
    const { signal } = options;
    let failures = 0;
    while (!signal.aborted) {
      const listed = new Set<string>();
      let initial = true;
      const round = AbortSignal.any([
        signal,
        ...(options.resyncMs === undefined ? [] : [AbortSignal.timeout(options.resyncMs)]),
      ]);
      try {
        const events = this.applications.watch({
          ...(options.namespace === undefined ? {} : { namespace: options.namespace }),
          signal: round,
          onRelist: (reason) => {
            if (reason !== 'initial') return;
            initial = false;
            failures = 0;
            for (const view of this.operator.list())
              if (!listed.has(view.key) && inScope(view.key, options.namespace))
                void this.operator.remove(view.key);
          },
        });
        for await (const event of events) {
          if (round.aborted) break;
          const key = `${event.object.metadata?.namespace ?? ''}/${event.object.metadata?.name ?? ''}`;
          if (initial) listed.add(key);
          if (event.type === 'DELETED') await this.operator.remove(key);
          else await this.#upsert(key, event.object as Application);
        }
      } catch (error) {
        if (round.aborted) continue;
        failures++;
        this.#log?.warn({ error: toGitOpsError(error).toJSON() }, 'watching Applications failed; retrying');
        try {
          await sleep(backoffDelay(failures, { initialMs: 500, maxMs: 30_000 }), signal);
        } catch {
          return;
        }
      }
    }
  }

  /**
   * Waits until the Application's objects are Healthy or Degraded on its destination, or
   * `timeoutMs` passed (then the last health read). Reads every `intervalMs`.
   */
  async untilHealthy(
    app: Application,
    options: { timeoutMs: number; intervalMs?: number; signal?: AbortSignal },
  ): Promise<HealthStatus> {
    const deadline = Date.now() + options.timeoutMs;
    const read = () =>
      onDestination(this.destinations, app, options.signal, (l) => l.destination.health(app, options.signal));
    let health = await read();
    while (health !== 'Healthy' && health !== 'Degraded' && Date.now() < deadline) {
      await sleep(options.intervalMs ?? 500, options.signal);
      health = await read();
    }
    return health;
  }

  /** Stops the operator and closes every client. */
  async close(): Promise<void> {
    await this.operator.stop();
    this.destinations.close();
    this.target.close();
  }

  async #upsert(key: string, object: Application): Promise<void> {
    let app: Application;
    try {
      app = toApplication(object);
    } catch (error) {
      this.#log?.warn({ app: key, error: toGitOpsError(error).toJSON() }, 'an Application is invalid');
      await this.operator.remove(key);
      return;
    }
    const known = this.operator.get(applicationKey(app));
    if (known === undefined || JSON.stringify(known.app.spec) !== JSON.stringify(app.spec))
      this.operator.upsert(app);
  }

  // Only changes that matter are written, so a busy operator does not flood the API server.
  async #writeStatus(app: Application, status: ApplicationStatus): Promise<void> {
    const key = applicationKey(app);
    const fingerprint = JSON.stringify([
      status.phase,
      status.health,
      status.observedGeneration,
      status.conditions?.map((c) => c.reason),
      status.lastSyncedRevision,
      status.lastError?.message,
    ]);
    if (this.#written.get(key) === fingerprint) return;
    this.#written.set(key, fingerprint);
    try {
      await this.applications.patchStatus(app, status);
    } catch (error) {
      this.#written.delete(key);
      // Deleted meanwhile: nothing to report on.
      if (error instanceof GitOpsError && error.code === ErrorCodes.NotFound) return;
      this.#log?.warn({ app: key, error: toGitOpsError(error).toJSON() }, 'writing status failed');
    }
  }
}

function inScope(key: string, namespace: string | undefined): boolean {
  return namespace === undefined || key.startsWith(`${namespace}/`);
}
