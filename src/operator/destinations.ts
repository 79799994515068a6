/**
 * Applications that deploy to other clusters. An application names a Secret (in its own
 * namespace) holding the destination's kubeconfig; this target reads it through the operator's
 * own client, checks it (embedded credentials only), and keeps one client and engine per
 * destination, made again when the Secret's content changes. A replaced destination's client is
 * closed once the calls that still use it have finished. Applications without a Secret go to
 * the operator's own cluster.
 *
 * Tenancy (tenancy.ts): an application synced as a service account gets a client and engine of
 * its own per (destination, identity), impersonating that account, cached and closed when idle
 * like a remote destination's; each lease checks objects against the cross-namespace rule (the
 * reconciler reports refused ones failed one by one and still applies the others).
 */
import { createHash } from 'node:crypto';

import { KubeClient, kubeconfigFromText } from '../kube/index.js';
import type { KubeClientOptions } from '../kube/index.js';
import { ErrorCodes, GitOpsError } from '../runtime/index.js';
import type { KubeObject } from '../runtime/index.js';
import type { Application } from './application.js';
import type { SyncEngineOptions } from '../sync/index.js';
import { EngineTarget } from './engine-target.js';
import { admitObjects, identityFor } from './tenancy.js';
import type { TenancyOptions } from './tenancy.js';
import type { DestinationLease, Destinations } from './destination.js';

export interface DestinationTargetsOptions {
  /** Options of each remote destination's engine (timeouts, field manager, concurrency). */
  engine?: SyncEngineOptions;
  /** Options of each remote destination's client (retries, throttling). */
  clientOptions?: KubeClientOptions;
  /** Accept kubeconfigs with `insecure-skip-tls-verify` (refused by default). */
  allowInsecureTls?: boolean;
  /**
   * A destination no call has used for this long has its client closed (made again on next
   * use), so deleted Applications and Secrets leave nothing open. Default 10 minutes.
   */
  idleCloseMs?: number;
  /** Service accounts and namespace rules (tenancy.ts); none by default. */
  tenancy?: TenancyOptions;
}

interface Remote {
  fingerprint: string;
  target: EngineTarget;
  users: number;
  /** When the last call using it ended (ms): an idle destination's client is closed. */
  lastUsed: number;
  /** Replaced by a newer content of its Secret: closed when its last user is done. */
  replaced: boolean;
}

export class DestinationTargets implements Destinations {
  readonly #remotes = new Map<string, Remote>();
  readonly #retired = new Set<Remote>();
  #closed = false;

  /** `local` is the operator's own cluster; its client also reads the kubeconfig Secrets. */
  constructor(
    readonly local: EngineTarget,
    private readonly options: DestinationTargetsOptions = {},
  ) {}

  /** How many remote destinations have a client now (replaced ones still in use included). */
  get remoteCount(): number {
    return this.#remotes.size + this.#retired.size;
  }

  /**
   * `app`'s destination, held until `release()` (a client is never closed under a call that uses
   * it), with the tenancy check of its objects. The local target for applications without a
   * kubeconfig Secret and without a service account; throws (Forbidden) when one is required and
   * there is none.
   */
  async acquire(app: Application, signal?: AbortSignal): Promise<DestinationLease> {
    const identity = identityFor(app, this.options.tenancy ?? {});
    const ref = app.spec.destination.kubeconfigSecretRef;
    if (ref === undefined && identity === undefined) return this.#lease(this.local, () => undefined);
    if (this.#closed) {
      throw new GitOpsError(ErrorCodes.Aborted, 'the destination targets are closed');
    }
    const namespace = app.metadata.namespace;
    const source = ref === undefined ? 'in-cluster' : `Secret ${namespace}/${ref.name} key ${ref.key}`;
    const text =
      ref === undefined
        ? undefined
        : await this.#readKubeconfig(app, namespace, ref.name, ref.key, source, signal);
    if (this.#closed) {
      throw new GitOpsError(ErrorCodes.Aborted, 'the destination targets are closed');
    }
    this.#closeIdle();
    const fingerprint = text === undefined ? 'in-cluster' : createHash('sha256').update(text).digest('hex');
    // One client per (destination, identity): an impersonating client never serves another identity.
    const cacheKey = `${ref === undefined ? 'in-cluster' : `${namespace}/${ref.name}/${ref.key}`}#${identity?.user ?? ''}`;
    let remote = this.#remotes.get(cacheKey);
    if (remote === undefined || remote.fingerprint !== fingerprint) {
      const connection =
        text === undefined
          ? this.local.client.rest.connection
          : kubeconfigFromText(text, {
              untrusted: true,
              source,
              ...(this.options.allowInsecureTls === undefined
                ? {}
                : { allowInsecureTls: this.options.allowInsecureTls }),
            });
      const client = new KubeClient(connection, {
        ...this.options.clientOptions,
        ...(identity === undefined ? {} : { impersonate: identity }),
      });
      const target = new EngineTarget({
        ...this.options.engine,
        client,
        // The application's namespace need not exist on that cluster; its target namespace is ours to use.
        ...(ref === undefined
          ? {}
          : { inventoryNamespaceOf: (a: Application) => a.spec.destination.namespace }),
      });
      if (remote !== undefined) this.#retire(remote);
      remote = { fingerprint, target, users: 0, replaced: false, lastUsed: Date.now() };
      this.#remotes.set(cacheKey, remote);
    }
    if (ref !== undefined) checkServer(app, remote.target.client.rest.connection.server, source);
    const held = remote;
    held.users++;
    let released = false;
    return this.#lease(held.target, () => {
      if (released) return;
      released = true;
      held.users--;
      held.lastUsed = Date.now();
      if (held.replaced && held.users === 0) this.#closeRemote(held);
    });
  }

  /** Closes every remote destination's client (the local target stays its owner's to close). */
  close(): void {
    this.#closed = true;
    for (const remote of [...this.#remotes.values(), ...this.#retired]) remote.target.client.close();
    this.#remotes.clear();
    this.#retired.clear();
  }

  #lease(destination: EngineTarget, release: () => void): DestinationLease {
    const tenancy = this.options.tenancy ?? {};
    return {
      destination,
      admit: (app, objects, signal) => admitObjects(destination.client, app, objects, tenancy, signal),
      release,
    };
  }

  #closeIdle(): void {
    const idleMs = this.options.idleCloseMs ?? 600_000;
    const now = Date.now();
    for (const [key, remote] of this.#remotes) {
      if (remote.users === 0 && now - remote.lastUsed > idleMs) {
        this.#remotes.delete(key);
        remote.target.client.close();
      }
    }
  }

  #retire(remote: Remote): void {
    remote.replaced = true;
    if (remote.users === 0) remote.target.client.close();
    else this.#retired.add(remote);
  }

  #closeRemote(remote: Remote): void {
    this.#retired.delete(remote);
    remote.target.client.close();
  }

  async #readKubeconfig(
    app: Application,
    namespace: string,
    name: string,
    key: string,
    source: string,
    signal?: AbortSignal,
  ): Promise<string> {
    const object = `${namespace}/${app.metadata.name}`;
    const field = '.spec.destination.kubeconfigSecretRef';
    let secret: KubeObject | undefined;
    try {
      secret = await this.local.client.get({ apiVersion: 'v1', kind: 'Secret', namespace, name }, signal);
    } catch (cause) {
      throw new GitOpsError(
        ErrorCodes.AuthFailed,
        `could not read the destination kubeconfig Secret ${namespace}/${name}; check that the operator ` +
          'may get Secrets in this namespace',
        { cause, details: { field: `${field}.name`, object } },
      );
    }
    if (secret === undefined) {
      throw new GitOpsError(
        ErrorCodes.NotFound,
        `the destination kubeconfig Secret ${namespace}/${name} does not exist; create it in the ` +
          "Application's namespace",
        { details: { field: `${field}.name`, object } },
      );
    }
    const stringData = (secret as { stringData?: Record<string, string> }).stringData;
    const data = (secret as { data?: Record<string, string> }).data;
    const text =
      stringData?.[key] ??
      (data?.[key] === undefined ? undefined : Buffer.from(data[key], 'base64').toString());
    if (text === undefined || text.trim() === '') {
      const keys = [...new Set([...Object.keys(data ?? {}), ...Object.keys(stringData ?? {})])].sort();
      throw new GitOpsError(
        ErrorCodes.Invalid,
        `${source}: the Secret has no kubeconfig under that key (its keys: ${keys.join(', ') || 'none'}); ` +
          'set kubeconfigSecretRef.key',
        { details: { field: `${field}.key`, object } },
      );
    }
    return text;
  }
}

// `server` in the spec, when given, must be the cluster the Secret points at.
function checkServer(app: Application, actual: string, source: string): void {
  const expected = app.spec.destination.server;
  if (expected === undefined) return;
  const normalized = new URL(expected);
  const wanted = normalized.origin + normalized.pathname.replace(/\/+$/, '');
  if (wanted !== actual) {
    throw new GitOpsError(
      ErrorCodes.Invalid,
      `destination server ${wanted} is not the cluster the kubeconfig in ${source} points at (${actual}); ` +
        'nothing was applied',
      {
        details: {
          field: '.spec.destination.server',
          object: `${app.metadata.namespace}/${app.metadata.name}`,
        },
      },
    );
  }
}
