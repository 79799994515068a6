/**
 * `gitops import`: our Applications for Argo CD `Application` and Flux `GitRepository` +
 * `Kustomization` / `HelmRelease` manifests. Every field of theirs is either carried over or
 * named in a comment with the reason, so nothing is dropped in silence: the fields read are
 * marked, and every leaf of the input's spec that was not is listed.
 */
import { isPlainObject } from '../runtime/index.js';
import type { KubeObject } from '../runtime/index.js';
import { APPLICATION_API_VERSION, APPLICATION_KIND } from './application.js';

export interface ImportedApplication {
  /** Our Application (not defaulted: only what the input says). */
  application: KubeObject;
  /** Where it came from, e.g. `Argo CD Application argocd/guestbook`. */
  from: string;
  /** One line per field not carried over: `.spec.project: "default": why`. */
  notCarried: string[];
}

export interface ImportResult {
  applications: ImportedApplication[];
  /** Input objects that are not something we import (each with why). */
  ignored: string[];
}

type Obj = Record<string, unknown>;

/** Marks which fields of one input object were used; lists the others with a reason. */
class Reading {
  private readonly used = new Set<string>();
  private readonly reasons = new Map<string, string>();
  constructor(readonly object: Obj) {}

  /** The value at `path` (`.spec.source.repoURL`), marked as used. */
  take(path: string): unknown {
    this.used.add(path);
    return this.peek(path);
  }

  peek(path: string): unknown {
    let value: unknown = this.object;
    for (const part of path.split('.').slice(1)) {
      if (!isPlainObject(value)) return undefined;
      value = value[part];
    }
    return value;
  }

  /** `path` is not carried over, for this reason (the path stays in the list). */
  why(path: string, reason: string): void {
    this.reasons.set(path, reason);
  }

  notCarried(): string[] {
    const out: string[] = [];
    const visit = (value: unknown, path: string): void => {
      if ([...this.used].some((u) => path === u || path.startsWith(`${u}.`) || path.startsWith(`${u}[`)))
        return;
      if (isPlainObject(value) && Object.keys(value).length > 0 && !this.reasons.has(path)) {
        for (const [k, v] of Object.entries(value)) visit(v, `${path}.${k}`);
        return;
      }
      const reason = this.reasons.get(path) ?? 'no equivalent here';
      out.push(`${path}: ${JSON.stringify(value)}: ${reason}`);
    };
    visit(this.object.spec, '.spec');
    return out;
  }
}

const ARGO = 'argoproj.io/';
const FLUX_SOURCE = 'source.toolkit.fluxcd.io/';
const FLUX_KUSTOMIZE = 'kustomize.toolkit.fluxcd.io/';
const FLUX_HELM = 'helm.toolkit.fluxcd.io/';
const IN_CLUSTER_SERVERS = new Set(['https://kubernetes.default.svc', 'https://kubernetes.default.svc/']);

/** Our Applications for every Argo CD or Flux object of `objects` that stands for one. */
export function importApplications(objects: readonly KubeObject[]): ImportResult {
  const result: ImportResult = { applications: [], ignored: [] };
  const repositories = new Map<string, KubeObject>();
  for (const o of objects) {
    if (o.apiVersion.startsWith(FLUX_SOURCE) && o.kind === 'GitRepository')
      repositories.set(`${o.metadata?.namespace ?? 'flux-system'}/${o.metadata?.name}`, o);
  }
  for (const o of objects) {
    const name = `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
    if (o.apiVersion.startsWith(ARGO) && o.kind === 'Application') result.applications.push(fromArgo(o));
    else if (o.apiVersion.startsWith(FLUX_KUSTOMIZE) && o.kind === 'Kustomization')
      pushOrIgnore(result, fromFlux(o, repositories, 'kustomization'), `Flux Kustomization ${name}`);
    else if (o.apiVersion.startsWith(FLUX_HELM) && o.kind === 'HelmRelease')
      pushOrIgnore(result, fromFlux(o, repositories, 'helmrelease'), `Flux HelmRelease ${name}`);
    else if (!(o.apiVersion.startsWith(FLUX_SOURCE) && o.kind === 'GitRepository'))
      result.ignored.push(`${o.apiVersion} ${o.kind} ${name}: not an Argo CD or Flux object we import`);
  }
  return result;
}

function pushOrIgnore(result: ImportResult, imported: ImportedApplication | string, what: string): void {
  if (typeof imported === 'string') result.ignored.push(`${what}: ${imported}`);
  else result.applications.push(imported);
}

function base(name: string, namespace: string | undefined): Obj {
  return {
    apiVersion: APPLICATION_API_VERSION,
    kind: APPLICATION_KIND,
    metadata: { name, ...(namespace === undefined ? {} : { namespace }) },
    spec: { source: {}, destination: {}, policy: {} },
  };
}

function fromArgo(o: KubeObject): ImportedApplication {
  // Several sources: the first is carried over, the others named below.
  const input = JSON.parse(JSON.stringify(o)) as Obj & { spec?: Obj };
  const extra: string[] = [];
  const sources = input.spec?.sources;
  if (input.spec !== undefined && input.spec.source === undefined && Array.isArray(sources)) {
    input.spec.source = sources[0];
    delete input.spec.sources;
    for (let i = 1; i < sources.length; i++)
      extra.push(
        `.spec.sources[${i}]: ${JSON.stringify(sources[i])}: only the first of several sources is carried over`,
      );
  }
  const r = new Reading(input);
  const app = base(String(o.metadata?.name), o.metadata?.namespace);
  const spec = app.spec as { source: Obj; destination: Obj; policy: Obj; dependsOn?: unknown };
  const sourcePath = '.spec.source';
  const src = (field: string): unknown => r.take(`${sourcePath}.${field}`);
  spec.source.repoURL = src('repoURL');
  if (r.peek(`${sourcePath}.chart`) !== undefined) {
    r.why(`${sourcePath}.chart`, 'a chart from a Helm repository is not a source here: put the chart in Git');
  }
  const revision = src('targetRevision');
  if (typeof revision === 'string' && revision !== '' && revision !== 'HEAD')
    spec.source.targetRevision = revision;
  const path = src('path');
  if (typeof path === 'string' && path !== '') spec.source.paths = [path];
  const helm = r.peek(`${sourcePath}.helm`);
  if (isPlainObject(helm)) {
    const ours: Obj = {};
    const h = (field: string): unknown => r.take(`${sourcePath}.helm.${field}`);
    for (const field of [
      'releaseName',
      'valueFiles',
      'values',
      'valuesObject',
      'parameters',
      'ignoreMissingValueFiles',
    ]) {
      if (helm[field] !== undefined) ours[field] = h(field);
    }
    if (helm.skipCrds !== undefined) ours.includeCRDs = !h('skipCrds');
    spec.source.helm = ours;
  }
  const server = r.peek('.spec.destination.server');
  const destName = r.peek('.spec.destination.name');
  if (
    (server === undefined || IN_CLUSTER_SERVERS.has(String(server))) &&
    (destName === undefined || destName === 'in-cluster')
  ) {
    r.take('.spec.destination.server');
    r.take('.spec.destination.name');
  } else {
    r.why(
      server === undefined ? '.spec.destination.name' : '.spec.destination.server',
      'another cluster: put its kubeconfig in a Secret and set spec.destination.kubeconfigSecretRef (and server)',
    );
  }
  const namespace = r.take('.spec.destination.namespace');
  if (typeof namespace === 'string') spec.destination.namespace = namespace;
  r.why('.spec.project', 'no projects here: RBAC on the Application namespace limits who may create one');
  const automated = r.peek('.spec.syncPolicy.automated');
  if (isPlainObject(automated) && automated.allowEmpty === undefined) r.take('.spec.syncPolicy.automated');
  if (isPlainObject(automated)) {
    const prune = r.take('.spec.syncPolicy.automated.prune');
    const selfHeal = r.take('.spec.syncPolicy.automated.selfHeal');
    if (prune !== undefined) spec.policy.prune = prune;
    if (selfHeal !== undefined) spec.policy.selfHeal = selfHeal;
    r.why('.spec.syncPolicy.automated.allowEmpty', 'an empty input never prunes everything here');
  }
  const retry = r.peek('.spec.syncPolicy.retry');
  if (isPlainObject(retry)) {
    const ours: Obj = {};
    if (typeof retry.limit === 'number')
      ours.limit = Math.max(0, r.take('.spec.syncPolicy.retry.limit') as number);
    const backoff = isPlainObject(retry.backoff) ? retry.backoff : {};
    const seconds = (v: unknown): number | undefined => durationSeconds(v);
    if (seconds(backoff.duration) !== undefined)
      ours.backoffSeconds = seconds(r.take('.spec.syncPolicy.retry.backoff.duration'));
    if (seconds(backoff.maxDuration) !== undefined)
      ours.maxBackoffSeconds = seconds(r.take('.spec.syncPolicy.retry.backoff.maxDuration'));
    spec.policy.retry = ours;
  }
  const options = r.peek('.spec.syncPolicy.syncOptions');
  if (Array.isArray(options)) {
    r.why(
      '.spec.syncPolicy.syncOptions',
      'application-wide sync options are not supported; per object, see docs/argo-flux.md',
    );
  }
  const notCarried = [...r.notCarried(), ...extra];
  if (spec.source.targetRevision === undefined && revision === 'HEAD') {
    notCarried.push(
      `.spec.source.targetRevision: "HEAD": follows branch main; set spec.source.branch if the default branch has another name`,
    );
  }
  if (!isPlainObject(automated)) {
    notCarried.push(
      '.spec.syncPolicy.automated: (absent): manual sync is not a mode here; the operator syncs on every change',
    );
  }
  return {
    application: app as unknown as KubeObject,
    from: `Argo CD Application ${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`,
    notCarried,
  };
}

function fromFlux(
  o: KubeObject,
  repositories: ReadonlyMap<string, KubeObject>,
  kind: 'kustomization' | 'helmrelease',
): ImportedApplication | string {
  const r = new Reading(o as unknown as Obj);
  const namespace = o.metadata?.namespace ?? 'flux-system';
  const refPath = kind === 'kustomization' ? '.spec.sourceRef' : '.spec.chart.spec.sourceRef';
  const ref = r.peek(refPath);
  if (!isPlainObject(ref) || ref.kind !== 'GitRepository') {
    return kind === 'helmrelease'
      ? 'its chart does not come from a GitRepository (HelmRepository, OCIRepository and chartRef are not sources here)'
      : 'its source is not a GitRepository';
  }
  const repoKey = `${typeof ref.namespace === 'string' ? ref.namespace : namespace}/${String(ref.name)}`;
  const repository = repositories.get(repoKey);
  if (repository === undefined) return `its GitRepository ${repoKey} is not among the files given`;
  r.take(refPath);
  const app = base(String(o.metadata?.name), namespace);
  const spec = app.spec as { source: Obj; destination: Obj; policy: Obj; dependsOn?: unknown };
  const g = new Reading(repository as unknown as Obj);
  spec.source.repoURL = g.take('.spec.url');
  const gitRef = g.peek('.spec.ref');
  if (isPlainObject(gitRef)) {
    if (typeof gitRef.commit === 'string') spec.source.targetRevision = g.take('.spec.ref.commit');
    else if (typeof gitRef.tag === 'string')
      spec.source.targetRevision = `refs/tags/${String(g.take('.spec.ref.tag'))}`;
    else if (typeof gitRef.name === 'string') spec.source.targetRevision = g.take('.spec.ref.name');
    else if (typeof gitRef.branch === 'string') spec.source.branch = g.take('.spec.ref.branch');
    if (gitRef.semver !== undefined)
      g.why('.spec.ref.semver', 'semver ranges of tags are not followed here; pin a tag');
  }
  const secret = g.peek('.spec.secretRef.name');
  if (typeof secret === 'string') spec.source.credentialsSecretRef = { name: g.take('.spec.secretRef.name') };
  if (g.peek('.spec.interval') !== undefined)
    g.why('.spec.interval', 'the Application interval is taken from the Kustomization or HelmRelease');

  const path = kind === 'kustomization' ? r.take('.spec.path') : r.take('.spec.chart.spec.chart');
  if (typeof path === 'string' && path !== '' && path !== '.' && path !== './')
    spec.source.paths = [path.replace(/^\.\//, '')];
  const interval = r.take('.spec.interval');
  if (typeof interval === 'string' && /^([0-9]+(ms|s|m|h))+$/.test(interval)) spec.policy.interval = interval;
  const target = r.take('.spec.targetNamespace');
  if (typeof target === 'string') spec.destination.namespace = target;
  const dependsOn = r.peek('.spec.dependsOn');
  if (Array.isArray(dependsOn)) {
    const same = dependsOn.filter(
      (d) => isPlainObject(d) && (d.namespace === undefined || d.namespace === namespace),
    );
    if (same.length === dependsOn.length) {
      r.take('.spec.dependsOn');
      spec.dependsOn = same.map((d) => ({ name: String((d as Obj).name) }));
    } else r.why('.spec.dependsOn', 'dependencies in other namespaces are not supported');
  }
  const kubeConfig = r.peek('.spec.kubeConfig.secretRef');
  if (isPlainObject(kubeConfig)) {
    r.take('.spec.kubeConfig.secretRef');
    spec.destination.kubeconfigSecretRef = { name: kubeConfig.name, key: kubeConfig.key ?? 'value' };
  }
  if (kind === 'kustomization') {
    const prune = r.take('.spec.prune');
    if (typeof prune === 'boolean') spec.policy.prune = prune;
    const wait = r.take('.spec.wait');
    if (typeof wait === 'boolean') spec.policy.waitForHealth = wait;
    r.why('.spec.force', 'per object here: kustomize.toolkit.fluxcd.io/force: enabled (docs/argo-flux.md)');
    r.why('.spec.postBuild', 'variable substitution is not supported');
    r.why('.spec.decryption', 'SOPS decryption is not supported');
  } else {
    const helm: Obj = {};
    const release = r.take('.spec.releaseName');
    if (typeof release === 'string') helm.releaseName = release;
    const files = r.take('.spec.chart.spec.valuesFiles');
    if (Array.isArray(files)) helm.valueFiles = files.map((f) => relativeTo(String(path ?? ''), String(f)));
    const values = r.take('.spec.values');
    if (isPlainObject(values)) helm.valuesObject = values;
    r.why(
      '.spec.valuesFrom',
      'values from ConfigMaps or Secrets are not supported; inline them or use a values file',
    );
    r.why('.spec.chart.spec.version', 'the chart is the one in Git at the revision followed');
    spec.source.helm = helm;
    spec.policy.prune = true;
  }
  if (r.peek('.spec.suspend') === true)
    r.why('.spec.suspend', 'suspended: do not apply this Application until you want it to sync');
  const notCarried = [...r.notCarried(), ...g.notCarried().map((l) => `GitRepository ${repoKey} ${l}`)];
  return {
    application: app as unknown as KubeObject,
    from: `Flux ${o.kind} ${namespace}/${o.metadata?.name ?? ''} with GitRepository ${repoKey}`,
    notCarried,
  };
}

/** A values file path of Flux (relative to the repository root) as ours (relative to the chart). */
function relativeTo(chart: string, file: string): string {
  const chartParts = chart
    .replace(/^\.\//, '')
    .split('/')
    .filter((p) => p !== '' && p !== '.');
  const fileParts = file
    .replace(/^\.\//, '')
    .split('/')
    .filter((p) => p !== '' && p !== '.');
  let common = 0;
  while (common < chartParts.length && chartParts[common] === fileParts[common]) common++;
  return [...chartParts.slice(common).map(() => '..'), ...fileParts.slice(common)].join('/');
}

function durationSeconds(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const m = /^(\d+)(s|m|h)$/.exec(value.trim());
  if (m === null) return undefined;
  return Number(m[1]) * ({ s: 1, m: 60, h: 3600 } as const)[m[2] as 's' | 'm' | 'h'];
}
