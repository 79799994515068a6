/**
 * Discovery and REST mapping: which resource (URL path) serves a kind, and whether it is
 * namespaced. Read in two requests with aggregated discovery (`/api`, `/apis`), falling back to
 * one request per group version on servers without it; cached, refreshed when an unknown kind is
 * met, and taught directly by a CRD that was just established (discovery lags behind it).
 */
import {
  ErrorCodes,
  GitOpsError,
  compareVersions,
  formatApiVersion,
  gvkToString,
  isPlainObject,
} from '../runtime/index.js';
import type { GroupKind, GroupVersionKind } from '../runtime/index.js';
import type { RestClient } from './rest-client.js';

/** One resource the API server serves. */
export interface ResourceInfo {
  group: string;
  version: string;
  kind: string;
  /** Plural, lower case: the URL segment, e.g. `deployments`. */
  resource: string;
  namespaced: boolean;
  verbs: readonly string[];
}

export interface RestMapperOptions {
  /** A refresh caused by an unknown kind happens at most this often; default 1 s. */
  minRefreshIntervalMs?: number;
}

/** A group version the server lists but could not describe (e.g. an unavailable APIService). */
export interface DiscoveryProblem {
  groupVersion: string;
  message: string;
}

const AGGREGATED_ACCEPT =
  'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,' +
  'application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json';

interface DiscoveredGroup {
  name: string;
  /** Served versions, highest priority first as the server orders them. */
  versions: string[];
  preferred: string;
}

export class RestMapper {
  readonly #client: RestClient;
  readonly #minRefreshIntervalMs: number;
  #byGvk = new Map<string, ResourceInfo>();
  #groups = new Map<string, DiscoveredGroup>();
  /** Kinds learnt from CRDs, kept across refreshes until discovery lists them too. */
  readonly #taught = new Map<string, ResourceInfo>();
  #loaded: Promise<void> | undefined;
  #refreshing: Promise<void> | undefined;
  #loadedAt = 0;
  #problems: DiscoveryProblem[] = [];

  constructor(client: RestClient, options: RestMapperOptions = {}) {
    this.#client = client;
    this.#minRefreshIntervalMs = options.minRefreshIntervalMs ?? 1_000;
  }

  /** Group versions discovery could not read on its last refresh. */
  get problems(): readonly DiscoveryProblem[] {
    return this.#problems;
  }

  /** The resource for a kind; refreshes discovery once if it is unknown, then UnknownKind. */
  async resourceFor(gvk: GroupVersionKind, signal?: AbortSignal): Promise<ResourceInfo> {
    const found = await this.find(gvk, signal);
    if (found !== undefined) return found;
    const versions = this.#groups.get(gvk.group)?.versions;
    throw new GitOpsError(
      ErrorCodes.UnknownKind,
      `the cluster does not serve ${gvk.kind} in ${formatApiVersion(gvk)}` +
        (versions === undefined
          ? ` (no API group ${JSON.stringify(gvk.group)}: is its CustomResourceDefinition installed?)`
          : ` (group ${gvk.group || 'core'} serves versions ${versions.join(', ')})`),
      { details: { field: '.kind', gvk: gvkToString(gvk) } },
    );
  }

  /** Like resourceFor, but undefined for a kind the cluster does not serve. */
  async find(gvk: GroupVersionKind, signal?: AbortSignal): Promise<ResourceInfo | undefined> {
    await this.#ensureLoaded(signal);
    const hit = this.#lookup(gvk);
    if (hit !== undefined) return hit;
    if (Date.now() - this.#loadedAt >= this.#minRefreshIntervalMs) {
      await this.refresh(signal);
      return this.#lookup(gvk);
    }
    return undefined;
  }

  /** The scope of a kind, without refreshing: undefined if not known yet. */
  cachedResource(gvk: GroupVersionKind): ResourceInfo | undefined {
    return this.#lookup(gvk);
  }

  /** The version the server prefers for a group and kind, e.g. to read an object again. */
  async preferredVersion(gk: GroupKind, signal?: AbortSignal): Promise<ResourceInfo | undefined> {
    await this.#ensureLoaded(signal);
    const group = this.#groups.get(gk.group);
    const versions = group === undefined ? [] : [group.preferred, ...group.versions];
    for (const version of versions) {
      const info = this.#lookup({ ...gk, version });
      if (info !== undefined) return info;
    }
    for (const info of this.#taught.values())
      if (info.group === gk.group && info.kind === gk.kind) return info;
    return undefined;
  }

  /** Reads discovery again (deduplicated with a refresh already under way). */
  refresh(signal?: AbortSignal): Promise<void> {
    if (this.#refreshing !== undefined) return this.#refreshing;
    const loading = this.#load(signal).finally(() => {
      this.#refreshing = undefined;
      if (this.#loaded === loading) this.#loadedAt = Date.now();
    });
    this.#loaded = loading;
    this.#refreshing = loading;
    loading.catch(() => {
      if (this.#loaded === loading) this.#loaded = undefined;
    });
    return loading;
  }

  /**
   * Every served group/version, and every group/version/Kind, sorted: what Helm's
   * `.Capabilities.APIVersions` holds (`--api-versions`).
   */
  async apiVersions(signal?: AbortSignal): Promise<string[]> {
    if (this.#loaded === undefined) await this.refresh(signal);
    await this.#loaded;
    const out = new Set<string>();
    for (const info of [...this.#byGvk.values(), ...this.#taught.values()]) {
      const gv = info.group === '' ? info.version : `${info.group}/${info.version}`;
      out.add(gv);
      out.add(`${gv}/${info.kind}`);
    }
    return [...out].sort();
  }

  /** Forgets everything; the next lookup reads discovery again. */
  invalidate(): void {
    this.#loaded = undefined;
  }

  /** Learns the kinds of a CRD (served versions), so its resources can be used at once. */
  learnCustomResourceDefinition(crd: unknown): ResourceInfo[] {
    if (!isPlainObject(crd) || !isPlainObject(crd.spec)) return [];
    const spec = crd.spec;
    const names = isPlainObject(spec.names) ? spec.names : {};
    if (
      typeof spec.group !== 'string' ||
      typeof names.plural !== 'string' ||
      typeof names.kind !== 'string'
    ) {
      return [];
    }
    const learnt: ResourceInfo[] = [];
    const versions = Array.isArray(spec.versions) ? spec.versions : [];
    for (const v of versions) {
      if (!isPlainObject(v) || typeof v.name !== 'string' || v.served === false) continue;
      const info: ResourceInfo = {
        group: spec.group,
        version: v.name,
        kind: names.kind,
        resource: names.plural,
        namespaced: spec.scope !== 'Cluster',
        verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
      };
      this.#taught.set(gvkId(info), info);
      learnt.push(info);
    }
    const group = this.#groups.get(spec.group);
    const names2 = learnt.map((l) => l.version);
    this.#groups.set(spec.group, {
      name: spec.group,
      versions: [...new Set([...(group?.versions ?? []), ...names2])].sort((a, b) => compareVersions(b, a)),
      preferred: group?.preferred ?? names2.sort((a, b) => compareVersions(b, a))[0] ?? '',
    });
    return learnt;
  }

  #lookup(gvk: GroupVersionKind): ResourceInfo | undefined {
    const id = gvkId(gvk);
    return this.#byGvk.get(id) ?? this.#taught.get(id);
  }

  async #ensureLoaded(signal?: AbortSignal): Promise<void> {
    if (this.#loaded === undefined) await this.refresh(signal);
    else await this.#loaded;
  }

  async #load(signal?: AbortSignal): Promise<void> {
    const byGvk = new Map<string, ResourceInfo>();
    const groups = new Map<string, DiscoveredGroup>();
    const problems: DiscoveryProblem[] = [];
    await Promise.all(
      ['/api', '/apis'].map(async (path) => {
        const res = await this.#client.request({ method: 'GET', path, accept: AGGREGATED_ACCEPT, signal });
        const body = res.body;
        if (isPlainObject(body) && body.kind === 'APIGroupDiscoveryList') {
          readAggregated(body, byGvk, groups, problems);
        } else {
          await this.#readLegacy(path, body, byGvk, groups, problems, signal);
        }
      }),
    );
    this.#byGvk = byGvk;
    this.#groups = groups;
    this.#problems = problems;
    // A taught kind that discovery now lists is discovery's again.
    for (const id of [...this.#taught.keys()]) if (byGvk.has(id)) this.#taught.delete(id);
  }

  async #readLegacy(
    path: string,
    body: unknown,
    byGvk: Map<string, ResourceInfo>,
    groups: Map<string, DiscoveredGroup>,
    problems: DiscoveryProblem[],
    signal?: AbortSignal,
  ): Promise<void> {
    const list: Array<{ group: string; versions: string[]; preferred: string }> = [];
    if (path === '/api' && isPlainObject(body) && Array.isArray(body.versions)) {
      const versions = body.versions.filter((v): v is string => typeof v === 'string');
      list.push({ group: '', versions, preferred: versions[0] ?? 'v1' });
    } else if (isPlainObject(body) && Array.isArray(body.groups)) {
      for (const g of body.groups) {
        if (!isPlainObject(g) || typeof g.name !== 'string' || !Array.isArray(g.versions)) continue;
        const versions = g.versions
          .map((v) => (isPlainObject(v) && typeof v.version === 'string' ? v.version : undefined))
          .filter((v): v is string => v !== undefined);
        const preferred =
          isPlainObject(g.preferredVersion) && typeof g.preferredVersion.version === 'string'
            ? g.preferredVersion.version
            : (versions[0] ?? '');
        list.push({ group: g.name, versions, preferred });
      }
    }
    await Promise.all(
      list.flatMap((g) => {
        groups.set(g.group, { name: g.group, versions: g.versions, preferred: g.preferred });
        return g.versions.map(async (version) => {
          const gv = formatApiVersion({ group: g.group, version });
          const gvPath = g.group === '' ? `/api/${version}` : `/apis/${gv}`;
          try {
            const res = await this.#client.request({ method: 'GET', path: gvPath, signal, retry: false });
            const resources =
              isPlainObject(res.body) && Array.isArray(res.body.resources) ? res.body.resources : [];
            for (const r of resources) {
              if (!isPlainObject(r) || typeof r.name !== 'string' || r.name.includes('/')) continue;
              if (typeof r.kind !== 'string') continue;
              addResource(byGvk, {
                group: g.group,
                version,
                kind: r.kind,
                resource: r.name,
                namespaced: r.namespaced === true,
                verbs: Array.isArray(r.verbs)
                  ? r.verbs.filter((v): v is string => typeof v === 'string')
                  : [],
              });
            }
          } catch (err) {
            // One unavailable aggregated API must not hide every other group.
            problems.push({ groupVersion: gv, message: err instanceof Error ? err.message : String(err) });
          }
        });
      }),
    );
  }
}

function readAggregated(
  body: Record<string, unknown>,
  byGvk: Map<string, ResourceInfo>,
  groups: Map<string, DiscoveredGroup>,
  problems: DiscoveryProblem[],
): void {
  const items = Array.isArray(body.items) ? body.items : [];
  for (const item of items) {
    if (!isPlainObject(item)) continue;
    const metadata = isPlainObject(item.metadata) ? item.metadata : {};
    const group = typeof metadata.name === 'string' ? metadata.name : '';
    const versions = Array.isArray(item.versions) ? item.versions : [];
    const served: string[] = [];
    for (const v of versions) {
      if (!isPlainObject(v) || typeof v.version !== 'string') continue;
      served.push(v.version);
      if (v.freshness === 'Stale') {
        problems.push({
          groupVersion: formatApiVersion({ group, version: v.version }),
          message: 'discovery for this group version is stale (its API service may be unavailable)',
        });
      }
      const resources = Array.isArray(v.resources) ? v.resources : [];
      for (const r of resources) {
        if (!isPlainObject(r) || typeof r.resource !== 'string') continue;
        const kind =
          isPlainObject(r.responseKind) && typeof r.responseKind.kind === 'string' ? r.responseKind.kind : '';
        if (kind === '') continue;
        addResource(byGvk, {
          group,
          version: v.version,
          kind,
          resource: r.resource,
          namespaced: r.scope === 'Namespaced',
          verbs: Array.isArray(r.verbs) ? r.verbs.filter((x): x is string => typeof x === 'string') : [],
        });
      }
    }
    groups.set(group, { name: group, versions: served, preferred: served[0] ?? '' });
  }
}

function addResource(byGvk: Map<string, ResourceInfo>, info: ResourceInfo): void {
  const id = gvkId(info);
  // Several resources can answer with one kind (e.g. a legacy alias); the first listed is the main one.
  if (!byGvk.has(id)) byGvk.set(id, info);
}

function gvkId(gvk: GroupVersionKind): string {
  return `${gvk.group}/${gvk.version}/${gvk.kind}`;
}
