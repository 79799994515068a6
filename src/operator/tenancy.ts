/**
 * Tenancy: who the operator acts as for an Application, and which of its objects it may apply.
 * An Application naming a service account (or getting the default one) is synced impersonating
 * that account, so Kubernetes RBAC decides; a setting refuses Applications with none, so the
 * operator's own rights are never lent out; another refuses objects outside the Application's
 * own namespace (and cluster-scoped ones) unless the namespace is trusted. Refusals are per
 * object: the allowed objects of the same sync are still applied.
 */
import { serviceAccountIdentity } from '../kube/index.js';
import type { Impersonation, KubeClient } from '../kube/index.js';
import { ErrorCodes, GitOpsError, gvkOf, keyOf, objectKeyToString } from '../runtime/index.js';
import type { KubeObject } from '../runtime/index.js';
import type { Application, ObjectSyncResult } from './application.js';

export interface TenancyOptions {
  /**
   * Service account (of each Application's own namespace) used for Applications on the
   * operator's cluster that name none.
   */
  defaultServiceAccount?: string;
  /**
   * An Application on the operator's cluster with no service account (and no default) is
   * refused: nothing is applied with the operator's own rights.
   */
  requireServiceAccount?: boolean;
  /**
   * An Application may only apply into its own namespace: namespaced objects elsewhere, and
   * cluster-scoped objects, are refused, unless its namespace is in `trustedNamespaces`.
   */
  noCrossNamespaceTargets?: boolean;
  trustedNamespaces?: readonly string[];
}

/**
 * Who `app` is synced as: its service account (or the default one on the operator's cluster),
 * or undefined for the connection's own identity. Throws a Forbidden error when a service
 * account is required and there is none.
 */
export function identityFor(app: Application, options: TenancyOptions): Impersonation | undefined {
  const remote = app.spec.destination.kubeconfigSecretRef !== undefined;
  const name = app.spec.serviceAccountName ?? (remote ? undefined : options.defaultServiceAccount);
  const object = `${app.metadata.namespace}/${app.metadata.name}`;
  if (name === undefined) {
    if (options.requireServiceAccount === true && !remote) {
      throw new GitOpsError(
        ErrorCodes.Forbidden,
        'this operator requires a service account: set .spec.serviceAccountName to a ServiceAccount of ' +
          `namespace ${app.metadata.namespace} (nothing was applied; the operator's own rights are never used)`,
        { details: { field: '.spec.serviceAccountName', object } },
      );
    }
    return undefined;
  }
  try {
    return serviceAccountIdentity(app.metadata.namespace, name);
  } catch (cause) {
    throw new GitOpsError(ErrorCodes.Invalid, (cause as GitOpsError).message, {
      cause,
      details: { field: '.spec.serviceAccountName', object },
    });
  }
}

export interface Admission {
  /** `objects` itself when none is refused, so a plan made of it is recognised again. */
  allowed: readonly KubeObject[];
  /** One failed result per refused object, with the reason. */
  refused: ObjectSyncResult[];
}

/**
 * Splits `objects` into those `app` may apply and those refused by the cross-namespace rule
 * (everything allowed when the rule is off or the namespace trusted). Scope comes from the
 * cluster's discovery; a kind the cluster does not serve is refused, since its scope is unknown.
 */
export async function admitObjects(
  client: KubeClient,
  app: Application,
  objects: readonly KubeObject[],
  options: TenancyOptions,
  signal?: AbortSignal,
): Promise<Admission> {
  const own = app.metadata.namespace;
  if (options.noCrossNamespaceTargets !== true || (options.trustedNamespaces ?? []).includes(own)) {
    return { allowed: objects, refused: [] };
  }
  const allowed: KubeObject[] = [];
  const refused: ObjectSyncResult[] = [];
  for (const object of objects) {
    const info = await client.mapper.resourceFor(gvkOf(object), signal).catch(() => undefined);
    const given = object.metadata?.namespace;
    const namespace = typeof given === 'string' && given !== '' ? given : app.spec.destination.namespace;
    const id = idOf(object, info === undefined || info.namespaced ? namespace : '');
    let reason: string | undefined;
    if (info === undefined) {
      reason = `the cluster does not serve ${object.apiVersion} ${object.kind}, so its scope cannot be checked`;
    } else if (!info.namespaced) {
      reason = `${object.kind} is cluster-scoped`;
    } else if (namespace !== own) {
      reason = `its namespace ${namespace} is not the Application's namespace ${own}`;
    }
    if (reason === undefined) allowed.push(object);
    else
      refused.push({
        object: id,
        action: 'failed',
        message:
          `refused: ${reason}; this operator allows an Application to apply only into its own ` +
          'namespace (--no-cross-namespace-targets) unless that namespace is trusted',
      });
  }
  return { allowed: refused.length === 0 ? objects : allowed, refused };
}

/** The error a sync with refused objects reports (when nothing else failed). */
export function refusalError(
  app: Application,
  refused: readonly ObjectSyncResult[],
  total: number,
): GitOpsError {
  const first = refused[0]!;
  return new GitOpsError(
    ErrorCodes.Forbidden,
    `${refused.length} of ${total} object(s) refused; ${first.object}: ${first.message ?? 'refused'}`,
    { details: { object: first.object, application: `${app.metadata.namespace}/${app.metadata.name}` } },
  );
}

function idOf(object: KubeObject, namespace: string): string {
  try {
    return objectKeyToString(keyOf({ ...object, metadata: { ...object.metadata, namespace } }));
  } catch {
    return `${object.kind}/${namespace}/(unnamed)`;
  }
}
