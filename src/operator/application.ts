/**
 * The Application kind (gitops.libgitops.dev/v1alpha1): what to follow in Git, where to apply it,
 * and how. Its CRD is built here so the code and deploy/crd.yaml cannot disagree (a test checks
 * the YAML against applicationCrd()), and the same schema validates and defaults applications
 * read from Git, the cluster or the command line.
 */
import { assertBranchName, assertRefName } from '../git/index.js';
import { ErrorCodes, GitOpsError, Scheme } from '../runtime/index.js';
import type { JSONSchemaProps, KubeObject, ObjectMeta } from '../runtime/index.js';
import type { HealthStatus } from '../sync/index.js';

export const APPLICATION_GROUP = 'gitops.libgitops.dev';
export const APPLICATION_VERSION = 'v1alpha1';
export const APPLICATION_API_VERSION = `${APPLICATION_GROUP}/${APPLICATION_VERSION}`;
export const APPLICATION_KIND = 'Application';
export const APPLICATION_PLURAL = 'applications';

export interface ApplicationSource {
  /** Any URL git speaks: https, ssh, git, file. */
  repoURL: string;
  /** Branch to follow; `main` by default. */
  branch: string;
  /**
   * What to apply instead of following `branch`: a plain name (`v1.2.0`, `release`), a branch
   * (`refs/heads/name`), a tag (`refs/tags/name`) or a 40-hex commit. A plain name is resolved
   * against the remote on first fetch: a tag when `refs/tags/<name>` exists, else a branch when
   * `refs/heads/<name>` exists, else NotFound. A name that is both is the tag, as git itself
   * reads it. A tag or commit is fetched once and not followed; a branch is followed.
   */
  targetRevision?: string;
  /** Folders inside the repository, rendered and applied together; `["."]` by default. */
  paths: string[];
  /** A Secret (in the application's namespace) with `username`/`password`, `token` or `identity`/`known_hosts` (see repository-credentials.ts). */
  credentialsSecretRef?: { name: string };
  /** How a path holding a Helm chart (a Chart.yaml) is rendered; ignored for other paths. */
  helm?: ApplicationHelm;
}

/** Argo CD's names, where it has them. */
export interface ApplicationHelm {
  /** The application's name by default. */
  releaseName?: string;
  /** Relative to the chart's folder, applied in order; they must stay inside the repository. */
  valueFiles: string[];
  /** Inline values as YAML text (win over the files). */
  values?: string;
  /** Inline values as an object (win over `values`). */
  valuesObject?: Record<string, unknown>;
  /** Single values, as `--set` (or `--set-string` with forceString); they win over everything. */
  parameters: Array<{ name: string; value: string; forceString?: boolean }>;
  /** Render `crds/` (default true). */
  includeCRDs: boolean;
  /** Skip values files a chart lacks (for applications of several charts); default false. */
  ignoreMissingValueFiles?: boolean;
  /** Chart repositories needing credentials or a CA: a Secret with `username`/`password` and/or `ca.crt`. */
  repositories: Array<{ url: string; secretRef?: { name: string } }>;
}

export interface ApplicationDestination {
  /**
   * `in-cluster` (the operator's own cluster, the default without `kubeconfigSecretRef`), or,
   * with `kubeconfigSecretRef`, the API server URL the kubeconfig must point at (a guard against
   * a Secret that names another cluster; any server when absent).
   */
  server?: string;
  /** Namespace for namespaced objects that name none. */
  namespace: string;
  /**
   * Another cluster: a Secret in the application's namespace holding its kubeconfig under `key`
   * (`value` by default, as Flux names it). Only embedded credentials are accepted (no files,
   * exec plugins or auth providers). The inventory is kept on that cluster, in `namespace`.
   */
  kubeconfigSecretRef?: { name: string; key: string };
}

/** The destination's name for messages: `in-cluster` or `secret <name>`. */
export function destinationOf(app: Pick<Application, 'spec'>): string {
  const ref = app.spec.destination.kubeconfigSecretRef;
  return ref === undefined ? IN_CLUSTER : `Secret ${ref.name}`;
}

export const IN_CLUSTER = 'in-cluster';

export interface RetryPolicy {
  /** Attempts after the first failure before waiting for the next trigger; 0 means forever. */
  limit: number;
  backoffSeconds: number;
  maxBackoffSeconds: number;
}

export interface SyncPolicy {
  /** How often Git is checked and drift looked for, e.g. `3m`, `30s`, `1h`. */
  interval: string;
  prune: boolean;
  selfHeal: boolean;
  /** Apply a wave only once the objects of the waves before it are healthy (rolled out). */
  waitForHealth: boolean;
  retry: RetryPolicy;
}

export interface ApplicationSpec {
  source: ApplicationSource;
  destination: ApplicationDestination;
  policy: SyncPolicy;
  /** Applications (same namespace) that must be healthy before this one syncs. */
  dependsOn: Array<{ name: string }>;
  /** Write the status to Git after each sync that did something (see status-write-back.ts). */
  statusWriteBack?: StatusWriteBackSpec;
  /** Stop syncing (timers, pushes, drift) until set back to false; a manual sync still runs. */
  suspend?: boolean;
  /**
   * A service account of the application's namespace: the operator applies, prunes and reads
   * health as it (impersonation), so that account's RBAC decides what the application may touch.
   */
  serviceAccountName?: string;
}

export interface StatusWriteBackSpec {
  /** Folder of the repository holding the Application object whose status is written; `.` by default. */
  path: string;
  /** Branch written to; must exist and differ from the source branch. `libgitops-status` by default. */
  branch: string;
}

/**
 * `OutOfSync`: the revision was applied, but objects have since been changed or deleted on the
 * cluster and self-heal is off (the condition `Synced` says which).
 */
export type SyncPhase = 'Pending' | 'Syncing' | 'Synced' | 'OutOfSync' | 'Failed' | 'Waiting';

export interface ObjectSyncResult {
  /** ObjectKey string form: `group/Kind/namespace/name`. */
  object: string;
  action: 'applied' | 'unchanged' | 'pruned' | 'failed' | 'skipped' | 'would-apply' | 'would-prune';
  /** The object's health right after the sync (absent for pruned objects). */
  health?: HealthStatus;
  message?: string;
}

export interface ApplicationCondition {
  type: 'Ready' | 'Synced' | 'DependenciesReady';
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime: string;
}

export interface ApplicationStatus {
  phase: SyncPhase;
  health: HealthStatus;
  /** The `metadata.generation` of the spec this status is about. */
  observedGeneration?: number;
  lastSyncedRevision?: string;
  lastAttemptedRevision?: string;
  lastSyncTime?: string;
  lastError?: { code: string; message: string; time: string };
  objects?: ObjectSyncResult[];
  conditions?: ApplicationCondition[];
}

export interface Application extends KubeObject {
  apiVersion: typeof APPLICATION_API_VERSION;
  kind: typeof APPLICATION_KIND;
  metadata: ObjectMeta & { name: string; namespace: string };
  spec: ApplicationSpec;
  status?: ApplicationStatus;
}

const duration = '^([0-9]+(ms|s|m|h))+$';

const specSchema: JSONSchemaProps = {
  type: 'object',
  required: ['source'],
  properties: {
    source: {
      type: 'object',
      required: ['repoURL'],
      properties: {
        repoURL: { type: 'string', minLength: 1 },
        branch: { type: 'string', default: 'main', minLength: 1 },
        targetRevision: { type: 'string', minLength: 1 },
        paths: { type: 'array', items: { type: 'string' }, default: ['.'], minItems: 1 },
        credentialsSecretRef: {
          type: 'object',
          required: ['name'],
          properties: { name: { type: 'string', minLength: 1 } },
        },
        helm: {
          type: 'object',
          properties: {
            releaseName: { type: 'string', minLength: 1, maxLength: 53 },
            valueFiles: { type: 'array', default: [], items: { type: 'string', minLength: 1 } },
            values: { type: 'string' },
            valuesObject: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
            parameters: {
              type: 'array',
              default: [],
              items: {
                type: 'object',
                required: ['name', 'value'],
                properties: {
                  name: { type: 'string', minLength: 1 },
                  value: { type: 'string' },
                  forceString: { type: 'boolean' },
                },
              },
            },
            includeCRDs: { type: 'boolean', default: true },
            ignoreMissingValueFiles: { type: 'boolean' },
            repositories: {
              type: 'array',
              default: [],
              items: {
                type: 'object',
                required: ['url'],
                properties: {
                  url: { type: 'string', pattern: '^https?://' },
                  secretRef: {
                    type: 'object',
                    required: ['name'],
                    properties: { name: { type: 'string', minLength: 1 } },
                  },
                },
              },
            },
          },
        },
      },
    },
    destination: {
      type: 'object',
      default: {},
      properties: {
        server: { type: 'string', minLength: 1 },
        namespace: { type: 'string', default: 'default', minLength: 1 },
        kubeconfigSecretRef: {
          type: 'object',
          required: ['name'],
          properties: {
            name: { type: 'string', minLength: 1 },
            key: { type: 'string', default: 'value', minLength: 1 },
          },
        },
      },
    },
    policy: {
      type: 'object',
      default: {},
      properties: {
        interval: { type: 'string', default: '3m', pattern: duration },
        prune: { type: 'boolean', default: false },
        selfHeal: { type: 'boolean', default: false },
        waitForHealth: { type: 'boolean', default: false },
        retry: {
          type: 'object',
          default: {},
          properties: {
            limit: { type: 'integer', default: 0, minimum: 0 },
            backoffSeconds: { type: 'integer', default: 5, minimum: 1 },
            maxBackoffSeconds: { type: 'integer', default: 300, minimum: 1 },
          },
        },
      },
    },
    dependsOn: {
      type: 'array',
      default: [],
      items: { type: 'object', required: ['name'], properties: { name: { type: 'string', minLength: 1 } } },
    },
    statusWriteBack: {
      type: 'object',
      properties: {
        path: { type: 'string', default: '.', minLength: 1 },
        branch: { type: 'string', default: 'libgitops-status', minLength: 1 },
      },
    },
    suspend: { type: 'boolean' },
    serviceAccountName: {
      type: 'string',
      minLength: 1,
      maxLength: 253,
      pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$',
    },
  },
};

const statusSchema: JSONSchemaProps = {
  type: 'object',
  // Written by the operator only; fields not listed here are kept as they are.
  'x-kubernetes-preserve-unknown-fields': true,
  properties: {
    phase: { type: 'string' },
    health: { type: 'string' },
    observedGeneration: { type: 'integer', format: 'int64' },
    lastSyncedRevision: { type: 'string' },
    lastAttemptedRevision: { type: 'string' },
    lastSyncTime: { type: 'string' },
  },
};

// What `kubectl explain application` shows, by field path.
const DESCRIPTIONS: Record<string, string> = {
  '': 'An Application follows a folder of a Git repository and applies what it holds to a cluster, in order, with prune, drift detection and health.',
  spec: 'What to follow in Git, where to apply it, and how.',
  'spec.source': 'The Git repository and folders to apply.',
  'spec.source.repoURL': 'Any URL git speaks: https, ssh, git or file.',
  'spec.source.branch': 'Branch to follow (main by default).',
  'spec.source.targetRevision':
    'A tag, a commit (40 hex digits), refs/heads/<branch> or refs/tags/<tag> to apply instead of following branch; a tag or commit is not followed.',
  'spec.source.paths': 'Folders inside the repository, rendered and applied together (["."] by default).',
  'spec.source.credentialsSecretRef':
    'A Secret in this namespace with username/password, token, or identity/known_hosts for the repository.',
  'spec.source.credentialsSecretRef.name': 'Name of the Secret.',
  'spec.destination': 'Where the objects are applied.',
  'spec.destination.server':
    'in-cluster (the default), or with kubeconfigSecretRef the API server URL its kubeconfig must point at.',
  'spec.destination.namespace': 'Namespace for namespaced objects that name none (default by default).',
  'spec.destination.kubeconfigSecretRef':
    'Another cluster: a Secret in this namespace holding its kubeconfig (embedded credentials only).',
  'spec.destination.kubeconfigSecretRef.name': 'Name of the Secret.',
  'spec.destination.kubeconfigSecretRef.key': 'Key of the kubeconfig in the Secret (value by default).',
  'spec.policy': 'How syncs happen.',
  'spec.policy.interval': 'How often Git is checked and drift looked for, e.g. 30s, 3m, 1h (3m by default).',
  'spec.policy.prune': 'Delete objects that this application applied and whose files were removed.',
  'spec.policy.selfHeal': 'Restore objects changed on the cluster to what Git says.',
  'spec.policy.waitForHealth': 'Apply a wave only once the objects of the waves before it are healthy.',
  'spec.policy.retry': 'Retries of a failed sync, with exponential backoff.',
  'spec.policy.retry.limit':
    'Attempts after the first failure before waiting for the next trigger; 0 means forever.',
  'spec.policy.retry.backoffSeconds': 'Wait before the first retry, doubled at each next one.',
  'spec.policy.retry.maxBackoffSeconds': 'Longest wait between retries.',
  'spec.dependsOn': 'Applications of this namespace that must be healthy before this one syncs.',
  'spec.dependsOn.name': 'Name of the Application.',
  'spec.statusWriteBack': 'Write the status to Git after each sync that did something.',
  'spec.statusWriteBack.path': 'Folder of the repository holding this Application (. by default).',
  'spec.statusWriteBack.branch':
    'Branch the status is written to; must exist and differ from the source branch.',
  'spec.suspend': 'Stop syncing (timers, pushes, drift) until set back to false; a manual sync still runs.',
  'spec.serviceAccountName':
    "A ServiceAccount of the Application's namespace: the operator applies, prunes and reads health impersonating it, so its RBAC decides what may be touched.",
  status: 'What the operator last did and saw; written by the operator only.',
  'status.phase': 'Pending, Syncing, Synced, OutOfSync, Failed or Waiting.',
  'status.health': 'Healthy, Progressing, Degraded, Missing or Unknown: the worst of the applied objects.',
  'status.observedGeneration': 'The metadata.generation of the spec this status is about.',
  'status.lastSyncedRevision': 'The commit last applied in full.',
  'status.lastAttemptedRevision': 'The commit of the last sync, whether it succeeded or not.',
  'status.lastSyncTime': 'When the last sync that applied something ended.',
};

/** A copy of `schema` with the description of each field in DESCRIPTIONS (by dotted path). */
function described(schema: JSONSchemaProps, path = ''): JSONSchemaProps {
  const out: JSONSchemaProps = { ...schema };
  const text = DESCRIPTIONS[path];
  if (text !== undefined) out.description = text;
  if (schema.properties !== undefined) {
    out.properties = Object.fromEntries(
      Object.entries(schema.properties).map(([name, sub]) => [
        name,
        described(sub, path === '' ? name : `${path}.${name}`),
      ]),
    );
  }
  if (schema.items !== undefined && !Array.isArray(schema.items)) out.items = described(schema.items, path);
  return out;
}

/** The CustomResourceDefinition the operator ships (deploy/crd.yaml). */
export function applicationCrd(): KubeObject {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${APPLICATION_PLURAL}.${APPLICATION_GROUP}` },
    spec: {
      group: APPLICATION_GROUP,
      scope: 'Namespaced',
      names: {
        kind: APPLICATION_KIND,
        listKind: `${APPLICATION_KIND}List`,
        plural: APPLICATION_PLURAL,
        singular: 'application',
        // Kind Application, as users of Argo CD and Flux know it; on a cluster that also runs
        // Argo CD, `kubectl get gapp` (or the full name) tells them apart.
        shortNames: ['gapp'],
        categories: ['gitops'],
      },
      versions: [
        {
          name: APPLICATION_VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
            { name: 'Health', type: 'string', jsonPath: '.status.health' },
            { name: 'Revision', type: 'string', jsonPath: '.status.lastSyncedRevision' },
            { name: 'Suspended', type: 'boolean', jsonPath: '.spec.suspend', priority: 1 },
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
            { name: 'Message', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].message' },
          ],
          schema: {
            openAPIV3Schema: described({
              type: 'object',
              required: ['spec'],
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                spec: specSchema,
                status: statusSchema,
              },
            }),
          },
        },
      ],
    },
  };
}

let sharedScheme: Scheme | undefined;

/** A Scheme that knows the Application kind (shared; register more kinds in a scheme of your own). */
export function applicationScheme(): Scheme {
  if (sharedScheme === undefined) {
    const scheme = new Scheme();
    scheme.registerCRD(applicationCrd());
    sharedScheme = scheme;
  }
  return sharedScheme;
}

/**
 * A validated, defaulted Application from any object: Invalid (with every problem in `causes`)
 * when the object is not one.
 */
export function toApplication(obj: unknown, defaultNamespace = 'default'): Application {
  const scheme = applicationScheme();
  if (
    typeof obj !== 'object' ||
    obj === null ||
    (obj as KubeObject).apiVersion !== APPLICATION_API_VERSION ||
    (obj as KubeObject).kind !== APPLICATION_KIND
  ) {
    throw new GitOpsError(ErrorCodes.Invalid, `expected ${APPLICATION_API_VERSION} ${APPLICATION_KIND}`, {
      details: { field: '.kind' },
    });
  }
  const withNamespace = obj as KubeObject;
  const candidate: KubeObject = {
    ...withNamespace,
    metadata: { ...withNamespace.metadata, namespace: withNamespace.metadata?.namespace ?? defaultNamespace },
  };
  scheme.assertValid(candidate);
  const app = scheme.default(candidate) as Application;
  const object = `${app.metadata.namespace}/${app.metadata.name}`;
  parseDuration(app.spec.policy.interval, '.spec.policy.interval');
  const pin = sourceRevision(app.spec.source, object);
  // A branch named by targetRevision (refs/heads/X) is followed exactly as `branch` is; a plain
  // name may turn out to be a tag, so it is left to the remote to decide.
  if (pin.kind === 'branch') app.spec.source.branch = pin.name;
  for (const [i, path] of app.spec.source.paths.entries()) {
    if (path.split('/').includes('..') || path.startsWith('/')) {
      throw new GitOpsError(ErrorCodes.PathEscape, `source path "${path}" must stay inside the repository`, {
        details: { field: `.spec.source.paths[${i}]`, object },
      });
    }
  }
  checkDestination(app.spec.destination, object);
  const writeBack = app.spec.statusWriteBack;
  if (writeBack !== undefined) {
    if (writeBack.path.split('/').includes('..') || writeBack.path.startsWith('/')) {
      throw new GitOpsError(
        ErrorCodes.PathEscape,
        `status path "${writeBack.path}" must stay inside the repository`,
        {
          details: { field: '.spec.statusWriteBack.path', object },
        },
      );
    }
    // A plain targetRevision may name a branch too (the remote decides): refuse it alike.
    if (
      writeBack.branch === app.spec.source.branch ||
      (pin.kind === 'name' && writeBack.branch === pin.name)
    ) {
      throw new GitOpsError(
        ErrorCodes.Invalid,
        `status write-back branch "${writeBack.branch}" is the branch the application follows: each status ` +
          'commit would start another sync; name another branch',
        { details: { field: '.spec.statusWriteBack.branch', object } },
      );
    }
  }
  return app;
}

function checkDestination(destination: ApplicationDestination, object: string): void {
  const { server, kubeconfigSecretRef } = destination;
  if (kubeconfigSecretRef === undefined) {
    if (server !== undefined && server !== IN_CLUSTER) {
      throw new GitOpsError(
        ErrorCodes.Invalid,
        `destination server "${server}" needs .spec.destination.kubeconfigSecretRef (a Secret with its ` +
          `kubeconfig); without it only "${IN_CLUSTER}" is served`,
        { details: { field: '.spec.destination.server', object } },
      );
    }
    return;
  }
  if (server === undefined) return;
  let url: URL | undefined;
  try {
    url = new URL(server);
  } catch {
    url = undefined;
  }
  if (url !== undefined && (url.username !== '' || url.password !== '')) {
    throw new GitOpsError(
      ErrorCodes.Invalid,
      'destination server must not carry credentials; they belong in the kubeconfig Secret',
      { details: { field: '.spec.destination.server', object } },
    );
  }
  if (url === undefined || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    throw new GitOpsError(
      ErrorCodes.Invalid,
      `destination server must be the API server's URL (https://host:port) when kubeconfigSecretRef is ` +
        `set, not "${server}"`,
      { details: { field: '.spec.destination.server', object } },
    );
  }
}

/** The Application the command line's `gitops sync REPO --path P` stands for. */
export function applicationFor(options: {
  name: string;
  namespace?: string;
  repoURL: string;
  branch?: string;
  paths?: string[];
  destinationNamespace?: string;
  prune?: boolean;
  selfHeal?: boolean;
  waitForHealth?: boolean;
  interval?: string;
  dependsOn?: string[];
}): Application {
  return toApplication({
    apiVersion: APPLICATION_API_VERSION,
    kind: APPLICATION_KIND,
    metadata: { name: options.name, namespace: options.namespace ?? 'default' },
    spec: {
      source: {
        repoURL: options.repoURL,
        ...(options.branch === undefined ? {} : { branch: options.branch }),
        ...(options.paths === undefined || options.paths.length === 0 ? {} : { paths: options.paths }),
      },
      destination:
        options.destinationNamespace === undefined ? {} : { namespace: options.destinationNamespace },
      policy: {
        ...(options.prune === undefined ? {} : { prune: options.prune }),
        ...(options.selfHeal === undefined ? {} : { selfHeal: options.selfHeal }),
        ...(options.waitForHealth === undefined ? {} : { waitForHealth: options.waitForHealth }),
        ...(options.interval === undefined ? {} : { interval: options.interval }),
      },
      dependsOn: (options.dependsOn ?? []).map((name) => ({ name })),
    },
  });
}

/**
 * What an application's source stands for: a branch followed, a tag or commit pinned, or a plain
 * name that the remote decides (a tag if it has one of that name, else a branch).
 */
export type SourceRevision =
  | { kind: 'branch'; name: string }
  | { kind: 'tag'; name: string }
  | { kind: 'commit'; commit: string }
  | { kind: 'name'; name: string };

const COMMIT = /^[0-9a-f]{40}$/;

/**
 * The revision `source` names, checked with git's own ref rules so no value can reach git as
 * an option. Invalid (field `.spec.source.targetRevision`) for anything else.
 */
export function sourceRevision(
  source: Pick<ApplicationSource, 'branch' | 'targetRevision'>,
  object?: string,
): SourceRevision {
  const text = source.targetRevision;
  const field = text === undefined ? '.spec.source.branch' : '.spec.source.targetRevision';
  const details = { field, ...(object === undefined ? {} : { object }) };
  try {
    if (text === undefined) return { kind: 'branch', name: assertBranchName(source.branch, 'branch') };
    if (COMMIT.test(text)) return { kind: 'commit', commit: text };
    if (text.startsWith('refs/tags/')) {
      const name = assertRefName(text.slice('refs/tags/'.length), 'tag');
      return { kind: 'tag', name };
    }
    if (text.startsWith('refs/heads/')) {
      return { kind: 'branch', name: assertBranchName(text.slice('refs/heads/'.length)) };
    }
    // A name valid as a branch is valid as a tag too; other refs/... are refused here.
    return { kind: 'name', name: assertBranchName(text) };
  } catch (cause) {
    throw new GitOpsError(
      ErrorCodes.Invalid,
      `${field.slice('.spec.source.'.length)} must be a branch or tag name, refs/heads/<branch>, ` +
        'refs/tags/<tag> or a 40-hex commit' +
        (cause instanceof GitOpsError ? ` (${cause.message})` : ''),
      { details, cause },
    );
  }
}

/** `namespace/name`, the key applications are known by. */
export function applicationKey(app: Pick<Application, 'metadata'>): string {
  return `${app.metadata.namespace}/${app.metadata.name}`;
}

const unitMs = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/** `1h30m`, `3m`, `500ms` to milliseconds; Invalid otherwise. */
export function parseDuration(text: string, field = 'duration'): number {
  const parts = [...text.matchAll(/([0-9]+)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) {
    throw new GitOpsError(ErrorCodes.Invalid, `"${text}" is not a duration; write e.g. 30s, 3m or 1h30m`, {
      details: { field },
    });
  }
  return parts.reduce((sum, p) => sum + Number(p[1]) * unitMs[p[2] as keyof typeof unitMs], 0);
}
