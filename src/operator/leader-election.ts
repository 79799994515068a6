/**
 * Leader election through a coordination.k8s.io/v1 Lease, so two replicas can run and only one
 * acts. A replica takes the lease when it is free, expired, or already its own, by a replace
 * that names the resourceVersion it read: of two replicas racing, the API server lets exactly
 * one write win. On stop the leader hands the lease back so the standby takes over at once.
 *
 * "Expired" is judged as client-go does, never by comparing the lease's renewTime with our
 * clock (the replicas' clocks may differ): we remember, on our own monotonic clock, when we
 * last saw the lease record change, and the lease is expired once its duration has passed on
 * that clock without a change. A released lease (no holder) is free at once.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';

import type { KubeClient } from '../kube/index.js';
import { toGitOpsError } from '../runtime/index.js';
import type { GitOpsError } from '../runtime/index.js';

export interface LeaderElectionOptions {
  client: KubeClient;
  namespace: string;
  /** The Lease's name; `libgitops-operator` by default. */
  name?: string;
  /** This replica; hostname plus a random suffix by default. */
  identity?: string;
  /** How long a lease lasts without renewal; 15 s by default. */
  leaseDurationSeconds?: number;
  /** How often the leader renews and a standby retries; 2 s by default (keep well under the duration). */
  retryPeriodMs?: number;
  onStartedLeading?: () => void;
  onStoppedLeading?: () => void;
  onError?: (error: GitOpsError) => void;
}

interface Lease {
  apiVersion: 'coordination.k8s.io/v1';
  kind: 'Lease';
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

export class LeaderElector {
  readonly identity: string;
  readonly name: string;
  private leading = false;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private attempt: Promise<void> | undefined;
  private readonly duration: number;
  private readonly period: number;
  /** The lease record last seen, and when we first saw it, on our monotonic clock (ms). */
  private observed: { record: string; at: number } | undefined;

  constructor(private readonly options: LeaderElectionOptions) {
    this.identity = options.identity ?? `${hostname()}-${randomBytes(3).toString('hex')}`;
    this.name = options.name ?? 'libgitops-operator';
    this.duration = options.leaseDurationSeconds ?? 15;
    this.period = options.retryPeriodMs ?? 2000;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** Starts trying (and, once leading, renewing) every retry period. */
  start(): void {
    this.stopped = false;
    this.tick();
  }

  /** Stops renewing and, when leading, releases the lease. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.attempt;
    if (!this.leading) return;
    try {
      const lease = await this.read();
      if (lease?.spec.holderIdentity === this.identity) {
        // No holder frees the lease at once; the epoch renew time does the same for replicas of
        // older versions, which judged expiry by renewTime.
        lease.spec = { ...lease.spec, holderIdentity: '', renewTime: microTime(new Date(0)) };
        await this.replace(lease);
      }
    } catch (error) {
      this.options.onError?.(toGitOpsError(error));
    }
    this.setLeading(false);
  }

  /** One attempt to take or renew the lease; resolves with whether this replica leads. */
  async tryAcquireOrRenew(): Promise<boolean> {
    const now = new Date();
    try {
      const lease = await this.read();
      if (lease === undefined) {
        this.observe(await this.create(this.fresh(now, 0)));
        this.setLeading(true);
        return true;
      }
      const sinceChange = this.observe(lease);
      const holder = lease.spec.holderIdentity ?? '';
      const expired = sinceChange >= (lease.spec.leaseDurationSeconds ?? this.duration) * 1000;
      if (holder !== '' && holder !== this.identity && !expired) {
        this.setLeading(false);
        return false;
      }
      const transitions = (lease.spec.leaseTransitions ?? 0) + (holder === this.identity ? 0 : 1);
      const next = this.fresh(now, transitions);
      next.metadata.resourceVersion = lease.metadata.resourceVersion;
      if (holder === this.identity && lease.spec.acquireTime !== undefined)
        next.spec.acquireTime = lease.spec.acquireTime;
      this.observe(await this.replace(next));
      this.setLeading(true);
      return true;
    } catch (error) {
      // A lost race (409) or an unreachable API server: not leading until a renewal succeeds.
      this.options.onError?.(toGitOpsError(error));
      this.setLeading(false);
      return false;
    }
  }

  /**
   * Notes the lease record as seen now and returns how long (ms, our monotonic clock) it has
   * stayed the same. Any write changes the resourceVersion, so a holder that keeps renewing
   * resets this whatever its clock writes into renewTime.
   */
  private observe(lease: Lease): number {
    const { holderIdentity, leaseDurationSeconds, acquireTime, renewTime, leaseTransitions } = lease.spec;
    const record = JSON.stringify([
      lease.metadata.resourceVersion,
      holderIdentity,
      leaseDurationSeconds,
      acquireTime,
      renewTime,
      leaseTransitions,
    ]);
    const now = performance.now();
    if (this.observed?.record !== record) this.observed = { record, at: now };
    return now - this.observed.at;
  }

  private tick(): void {
    if (this.stopped) return;
    this.attempt = this.tryAcquireOrRenew().then(() => undefined);
    void this.attempt.finally(() => {
      if (this.stopped) return;
      this.timer = setTimeout(() => this.tick(), this.period);
      this.timer.unref?.();
    });
  }

  private setLeading(leading: boolean): void {
    if (leading === this.leading) return;
    this.leading = leading;
    if (leading) this.options.onStartedLeading?.();
    else this.options.onStoppedLeading?.();
  }

  private fresh(now: Date, transitions: number): Lease {
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: this.name, namespace: this.options.namespace },
      spec: {
        holderIdentity: this.identity,
        leaseDurationSeconds: this.duration,
        acquireTime: microTime(now),
        renewTime: microTime(now),
        leaseTransitions: transitions,
      },
    };
  }

  private async read(): Promise<Lease | undefined> {
    const lease = await this.options.client.get({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      namespace: this.options.namespace,
      name: this.name,
    });
    return lease as Lease | undefined;
  }

  // Create and replace (not apply): a create fails if another replica created first, a replace
  // if the resourceVersion moved, which is what makes the race have one winner.
  private async create(lease: Lease): Promise<Lease> {
    const { body } = await this.options.client.rest.request<Lease>({
      method: 'POST',
      path: this.path(),
      body: lease,
      object: this.objectId(),
      verb: 'create of',
      retry: false,
    });
    return body;
  }

  private async replace(lease: Lease): Promise<Lease> {
    const { body } = await this.options.client.rest.request<Lease>({
      method: 'PUT',
      path: this.path(this.name),
      body: lease,
      object: this.objectId(),
      verb: 'replace of',
    });
    return body;
  }

  private path(name?: string): string {
    const base = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(this.options.namespace)}/leases`;
    return name === undefined ? base : `${base}/${encodeURIComponent(name)}`;
  }

  private objectId(): string {
    return `coordination.k8s.io/Lease/${this.options.namespace}/${this.name}`;
  }
}

// The API server's MicroTime wants six fractional digits.
function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}
