/**
 * Group, version and kind: what names a type of object. The string forms follow
 * k8s.io/apimachinery so that messages read the way Kubernetes users expect.
 */
import { ErrorCodes, GitOpsError } from './errors.js';
import { isPlainObject } from './types.js';

export interface GroupVersion {
  /** '' for the core group (apiVersion `v1`). */
  group: string;
  version: string;
}

export interface GroupKind {
  group: string;
  kind: string;
}

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

// A group is a DNS-1123 subdomain and a version a DNS-1123 label, as the API server requires.
const GROUP_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const VERSION_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function isValidGroup(group: string): boolean {
  return group === '' || (group.length <= 253 && GROUP_RE.test(group));
}

export function isValidVersion(version: string): boolean {
  return version.length <= 63 && VERSION_RE.test(version);
}

/** `v1` -> {group: '', version: 'v1'}; `apps/v1` -> {group: 'apps', version: 'v1'}. */
export function parseApiVersion(apiVersion: string): GroupVersion {
  if (typeof apiVersion !== 'string' || apiVersion === '') {
    throw new GitOpsError(ErrorCodes.InvalidApiVersion, 'apiVersion must be a non-empty string', {
      details: { field: '.apiVersion', fieldSegments: ['apiVersion'], value: apiVersion },
    });
  }
  const parts = apiVersion.split('/');
  const [group, version] = parts.length === 1 ? ['', parts[0] ?? ''] : [parts[0] ?? '', parts[1] ?? ''];
  if (
    parts.length > 2 ||
    (parts.length === 2 && group === '') ||
    !isValidGroup(group) ||
    !isValidVersion(version)
  ) {
    throw new GitOpsError(
      ErrorCodes.InvalidApiVersion,
      `apiVersion ${JSON.stringify(apiVersion)} is not of the form "<version>" or "<group>/<version>" ` +
        '(e.g. "v1", "apps/v1"; lowercase letters, digits, "-" and "." only)',
      { details: { field: '.apiVersion', fieldSegments: ['apiVersion'], value: apiVersion } },
    );
  }
  return { group, version };
}

/** The inverse of parseApiVersion: the core group has no prefix. */
export function formatApiVersion(gv: GroupVersion): string {
  return gv.group === '' ? gv.version : `${gv.group}/${gv.version}`;
}

/** The GroupVersionKind an object declares; MissingApiVersion, MissingKind or InvalidApiVersion if it cannot. */
export function gvkOf(obj: unknown): GroupVersionKind {
  const apiVersion = isPlainObject(obj) ? obj.apiVersion : undefined;
  const kind = isPlainObject(obj) ? obj.kind : undefined;
  if (apiVersion === undefined || apiVersion === null || apiVersion === '') {
    throw new GitOpsError(ErrorCodes.MissingApiVersion, 'the object has no apiVersion (e.g. "apps/v1")', {
      details: { field: '.apiVersion', fieldSegments: ['apiVersion'] },
    });
  }
  if (typeof apiVersion !== 'string') {
    throw new GitOpsError(
      ErrorCodes.InvalidApiVersion,
      `apiVersion must be a string, not ${typeName(apiVersion)}`,
      {
        details: { field: '.apiVersion', fieldSegments: ['apiVersion'] },
      },
    );
  }
  if (kind === undefined || kind === null || kind === '') {
    throw new GitOpsError(ErrorCodes.MissingKind, 'the object has no kind (e.g. "Deployment")', {
      details: { field: '.kind', fieldSegments: ['kind'] },
    });
  }
  if (typeof kind !== 'string') {
    throw new GitOpsError(ErrorCodes.TypeMismatch, `kind must be a string, not ${typeName(kind)}`, {
      details: { field: '.kind', fieldSegments: ['kind'] },
    });
  }
  return { ...parseApiVersion(apiVersion), kind };
}

/** The apiVersion string of a GVK. */
export function apiVersionOf(gvk: GroupVersion): string {
  return formatApiVersion(gvk);
}

/** `apps/v1, Kind=Deployment`; the core group prints as `/v1, Kind=Pod`, exactly like apimachinery. */
export function gvkToString(gvk: GroupVersionKind): string {
  return `${gvk.group}/${gvk.version}, Kind=${gvk.kind}`;
}

export function gvkEquals(a: GroupVersionKind, b: GroupVersionKind): boolean {
  return a.group === b.group && a.version === b.version && a.kind === b.kind;
}

export function groupKindOf(gvk: GroupKind): GroupKind {
  return { group: gvk.group, kind: gvk.kind };
}

/** `Deployment.apps`, or just `Pod` for the core group, as kubectl prints a GroupKind. */
export function groupKindToString(gk: GroupKind): string {
  return gk.group === '' ? gk.kind : `${gk.kind}.${gk.group}`;
}

// Kubernetes-style versions: v<major>, v<major>alpha<minor>, v<major>beta<minor>.
const KUBE_VERSION_RE = /^v([1-9][0-9]*)(?:(alpha|beta)([1-9][0-9]*))?$/;

function versionRank(v: string): { stage: number; major: number; minor: number } | undefined {
  const m = KUBE_VERSION_RE.exec(v);
  if (m === null) return undefined;
  const stage = m[2] === undefined ? 3 : m[2] === 'beta' ? 2 : 1;
  return { stage, major: Number(m[1]), minor: m[3] === undefined ? 0 : Number(m[3]) };
}

/**
 * Kubernetes version priority, as the CRD versioning docs define it: GA before beta before alpha,
 * higher major first, then higher minor; versions not of the Kubernetes form come last, in
 * alphabetical order. Returns > 0 when `a` has the higher priority (v1 > v1beta2 > v1beta1 >
 * v1alpha1 > foo), < 0 when `b` has, 0 when equal. Sort by priority with `(a, b) => compareVersions(b, a)`.
 */
export function compareVersions(a: string, b: string): number {
  const ra = versionRank(a);
  const rb = versionRank(b);
  if (ra !== undefined && rb !== undefined) {
    if (ra.stage !== rb.stage) return ra.stage - rb.stage;
    if (ra.major !== rb.major) return ra.major - rb.major;
    return ra.minor - rb.minor;
  }
  if (ra !== undefined) return 1;
  if (rb !== undefined) return -1;
  // Among other versions the alphabetically first has the higher priority.
  return a < b ? 1 : a > b ? -1 : 0;
}

/** A copy of `versions`, highest priority first. */
export function sortByVersionPriority(versions: readonly string[]): string[] {
  return [...versions].sort((a, b) => compareVersions(b, a));
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'a map' : `a ${typeof value}`;
}
