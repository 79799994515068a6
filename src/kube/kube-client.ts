/**
 * Objects on a cluster by their kind and name: server-side apply (with our field manager,
 * force, dry-run and strict field validation), get, paged list, delete with a propagation policy
 * and preconditions. Raw JSON both ways; every error names the object it was about.
 */
import {
  ErrorCodes,
  GitOpsError,
  formatApiVersion,
  gvkOf,
  isPlainObject,
  objectKeyToString,
  parseApiVersion,
  stringifyJson,
} from '../runtime/index.js';
import type { GroupVersionKind, KubeObject, ObjectKey } from '../runtime/index.js';
import { RestMapper } from './discovery.js';
import type { ResourceInfo, RestMapperOptions } from './discovery.js';
import { loadKubeconfig } from './kubeconfig.js';
import type { ClusterConnection, KubeconfigOptions } from './kubeconfig.js';
import { RestClient, pathSegment } from './rest-client.js';
import type { RestClientOptions } from './rest-client.js';

/** An object by apiVersion, kind, namespace and name. */
export interface ObjectRef {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
}

export interface KubeClientOptions extends RestClientOptions, RestMapperOptions {
  /** Owner of the fields we apply (server-side apply's field manager); default `libgitops`. */
  fieldManager?: string;
  /** Namespace for namespaced objects that name none; the context's namespace by default. */
  defaultNamespace?: string;
}

export interface ApplyOptions {
  /** Take fields other managers own (default true: Git is the source of truth). */
  force?: boolean;
  dryRun?: boolean;
  /** Default `Strict`: an unknown or duplicate field is an error, not silently dropped. */
  fieldValidation?: 'Strict' | 'Warn' | 'Ignore';
  fieldManager?: string;
  signal?: AbortSignal;
}

export interface ApplyResult {
  /** The object as the server stored it (or would, for a dry-run). */
  object: KubeObject;
  /** True when the apply created the object (HTTP 201). */
  created: boolean;
}

export interface KubeListOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Page size; default 500. */
  limit?: number;
  /**
   * Hands each page over as it comes instead of collecting them (the result's items are then
   * empty), so a list of 10,000 objects need not be held at once. If the continue token expires
   * midway, the list starts again and pages come again from the first.
   */
  onPage?: (items: KubeObject[]) => void;
  signal?: AbortSignal;
}

export interface ObjectList {
  items: KubeObject[];
  resourceVersion: string;
}

export interface KubeDeleteOptions {
  propagationPolicy?: 'Background' | 'Foreground' | 'Orphan';
  /** Delete only if the object is still this one (uid) and, optionally, unchanged. */
  preconditions?: { uid?: string; resourceVersion?: string };
  gracePeriodSeconds?: number;
  dryRun?: boolean;
  signal?: AbortSignal;
}

export const DEFAULT_FIELD_MANAGER = 'libgitops';

export class KubeClient {
  readonly rest: RestClient;
  readonly mapper: RestMapper;
  readonly fieldManager: string;
  readonly defaultNamespace: string;

  constructor(connection: ClusterConnection, options: KubeClientOptions = {}) {
    this.rest = new RestClient(connection, options);
    this.mapper = new RestMapper(this.rest, options);
    this.fieldManager = options.fieldManager ?? DEFAULT_FIELD_MANAGER;
    this.defaultNamespace = options.defaultNamespace ?? connection.namespace;
  }

  /** A client for the cluster a kubeconfig (or the pod's service account) points at. */
  static fromKubeconfig(config: KubeconfigOptions = {}, options: KubeClientOptions = {}): KubeClient {
    return new KubeClient(loadKubeconfig(config), options);
  }

  close(): void {
    this.rest.close();
  }

  /** Where an object lives: its resource, and its namespace ('' when cluster-scoped). */
  async locate(
    ref: ObjectRef | KubeObject,
    signal?: AbortSignal,
  ): Promise<{ info: ResourceInfo; namespace: string }> {
    const gvk = refGvk(ref);
    const info = await this.mapper.resourceFor(gvk, signal).catch((err: unknown) => {
      throw withObject(err, ref);
    });
    const given = 'metadata' in ref && isPlainObject(ref.metadata) ? ref.metadata.namespace : ref.namespace;
    const namespace = info.namespaced
      ? typeof given === 'string' && given !== ''
        ? given
        : this.defaultNamespace
      : '';
    return { info, namespace };
  }

  /** Server-side apply of a whole object; the object's namespace is filled in when missing. */
  async apply(object: KubeObject, options: ApplyOptions = {}): Promise<ApplyResult> {
    const { info, namespace } = await this.locate(object, options.signal);
    const name = object.metadata?.name;
    if (typeof name !== 'string') {
      throw new GitOpsError(ErrorCodes.MissingName, `the ${object.kind} has no metadata.name`, {
        details: { field: '.metadata.name' },
      });
    }
    const body = withNamespace(object, namespace);
    const res = await this.rest.request<KubeObject>({
      method: 'PATCH',
      path: resourcePath(info, namespace, name),
      query: {
        fieldManager: options.fieldManager ?? this.fieldManager,
        force: options.force ?? true,
        fieldValidation: options.fieldValidation ?? 'Strict',
        dryRun: options.dryRun ? 'All' : undefined,
      },
      // JSON is YAML, so the apply patch needs no YAML encoder.
      body: stringifyJson(body),
      contentType: 'application/apply-patch+yaml',
      object: keyString(info, namespace, name),
      verb: options.dryRun ? 'dry-run apply of' : 'apply of',
      signal: options.signal,
    });
    return { object: res.body, created: res.status === 201 };
  }

  /** The server's version (`gitVersion` of `/version`, e.g. `v1.32.13`). */
  async serverVersion(signal?: AbortSignal): Promise<string> {
    const res = await this.rest.request<{ gitVersion?: unknown }>({
      method: 'GET',
      path: '/version',
      signal,
    });
    const version = res.body?.gitVersion;
    if (typeof version !== 'string' || !/^v\d+\.\d+/.test(version)) {
      throw new GitOpsError(ErrorCodes.BadRequest, `the API server's /version has no usable gitVersion`);
    }
    return version;
  }

  /** The object, or undefined when it does not exist. */
  async get(ref: ObjectRef, signal?: AbortSignal): Promise<KubeObject | undefined> {
    const { info, namespace } = await this.locate(ref, signal);
    try {
      const res = await this.rest.request<KubeObject>({
        method: 'GET',
        path: resourcePath(info, namespace, ref.name),
        object: keyString(info, namespace, ref.name),
        verb: 'get of',
        signal,
      });
      return res.body;
    } catch (err) {
      if (err instanceof GitOpsError && err.code === ErrorCodes.NotFound) return undefined;
      throw err;
    }
  }

  /** Every object of a kind (in a namespace, or all), reading page after page. */
  async list(gvk: GroupVersionKind, options: KubeListOptions = {}): Promise<ObjectList> {
    const info = await this.mapper.resourceFor(gvk, options.signal);
    return this.listResource(info, options);
  }

  /** Like list, for a resource already mapped. */
  async listResource(info: ResourceInfo, options: KubeListOptions = {}): Promise<ObjectList> {
    let items: KubeObject[] = [];
    let resourceVersion = '';
    for await (const page of this.listResourcePages(info, options)) {
      // A restart (expired continue token) begins again from the first page.
      if (page.first) items = [];
      if (options.onPage !== undefined) options.onPage(page.items);
      else items.push(...page.items);
      resourceVersion = page.resourceVersion;
    }
    return { items, resourceVersion };
  }

  /**
   * The pages of a list as they come, so a caller can work through 10,000 objects without
   * holding them all. When the continue token expires midway the list starts again: a page then
   * comes with `first` again, and earlier pages' objects come again.
   */
  async *listResourcePages(
    info: ResourceInfo,
    options: Omit<KubeListOptions, 'onPage'> = {},
  ): AsyncGenerator<{ items: KubeObject[]; resourceVersion: string; first: boolean; last: boolean }> {
    const apiVersion = formatApiVersion(info);
    const path = resourcePath(info, info.namespaced ? (options.namespace ?? '') : '');
    for (let restart = 0; ; restart++) {
      let token: string | undefined;
      let first = true;
      try {
        do {
          const res = await this.rest.request<{
            metadata?: { continue?: string; resourceVersion?: string };
            items?: KubeObject[];
          }>({
            method: 'GET',
            path,
            query: {
              labelSelector: options.labelSelector,
              fieldSelector: options.fieldSelector,
              limit: options.limit ?? 500,
              continue: token,
            },
            verb: 'list of',
            object: `${info.resource}.${info.group || 'core'}`,
            signal: options.signal,
          });
          token = res.body.metadata?.continue || undefined;
          // Items of built-in lists come without their type; put it back so each stands alone.
          const items = (res.body.items ?? []).map((item) => ({ ...item, apiVersion, kind: info.kind }));
          yield {
            items,
            resourceVersion: res.body.metadata?.resourceVersion ?? '',
            first,
            last: token === undefined,
          };
          first = false;
        } while (token !== undefined);
        return;
      } catch (err) {
        // The continue token expired while paging: start again (a consistent list is needed).
        if (err instanceof GitOpsError && err.code === ErrorCodes.Gone && restart < 2) continue;
        throw err;
      }
    }
  }

  /**
   * Creates an object (POST), e.g. one with `metadata.generateName`, whose name the server picks;
   * AlreadyExists if its name is taken.
   */
  async create(
    object: KubeObject,
    options: { fieldManager?: string; signal?: AbortSignal } = {},
  ): Promise<KubeObject> {
    const { info, namespace } = await this.locate(object, options.signal);
    const res = await this.rest.request<KubeObject>({
      method: 'POST',
      path: resourcePath(info, namespace),
      query: { fieldManager: options.fieldManager ?? this.fieldManager, fieldValidation: 'Strict' },
      body: withNamespace(object, namespace),
      object: keyString(info, namespace, object.metadata?.name ?? `${object.metadata?.generateName ?? ''}*`),
      verb: 'create of',
      retry: false,
      signal: options.signal,
    });
    return res.body;
  }

  /** Deletes an object: `deleted`, or `notFound` if it was already gone. */
  async delete(ref: ObjectRef, options: KubeDeleteOptions = {}): Promise<'deleted' | 'notFound'> {
    const { info, namespace } = await this.locate(ref, options.signal);
    const body: Record<string, unknown> = { apiVersion: 'v1', kind: 'DeleteOptions' };
    if (options.propagationPolicy) body.propagationPolicy = options.propagationPolicy;
    if (options.preconditions) body.preconditions = options.preconditions;
    if (options.gracePeriodSeconds !== undefined) body.gracePeriodSeconds = options.gracePeriodSeconds;
    try {
      await this.rest.request({
        method: 'DELETE',
        path: resourcePath(info, namespace, ref.name),
        query: { dryRun: options.dryRun ? 'All' : undefined },
        body,
        object: keyString(info, namespace, ref.name),
        verb: 'delete of',
        signal: options.signal,
      });
      return 'deleted';
    } catch (err) {
      if (err instanceof GitOpsError && err.code === ErrorCodes.NotFound) return 'notFound';
      throw err;
    }
  }
}

/** `/api/v1/namespaces/<ns>/<resource>[/<name>]` or `/apis/<group>/<version>/...`. */
export function resourcePath(info: ResourceInfo, namespace: string, name?: string): string {
  const base =
    info.group === ''
      ? `/api/${pathSegment(info.version, 'version')}`
      : `/apis/${pathSegment(info.group, 'group')}/${pathSegment(info.version, 'version')}`;
  const scope =
    info.namespaced && namespace !== '' ? `/namespaces/${pathSegment(namespace, 'namespace')}` : '';
  const tail = name === undefined ? '' : `/${pathSegment(name, 'name')}`;
  return `${base}${scope}/${pathSegment(info.resource, 'resource')}${tail}`;
}

function refGvk(ref: ObjectRef | KubeObject): GroupVersionKind {
  if ('metadata' in ref) return gvkOf(ref);
  return { ...parseApiVersion(ref.apiVersion), kind: ref.kind };
}

function keyString(info: ResourceInfo, namespace: string, name: string): string {
  const key: ObjectKey =
    namespace === ''
      ? { group: info.group, kind: info.kind, name }
      : { group: info.group, kind: info.kind, namespace, name };
  return objectKeyToString(key);
}

function withNamespace(object: KubeObject, namespace: string): KubeObject {
  const current = object.metadata?.namespace;
  if ((current ?? '') === namespace) return object;
  const metadata = { ...object.metadata };
  if (namespace === '') delete metadata.namespace;
  else metadata.namespace = namespace;
  return { ...object, metadata };
}

function withObject(err: unknown, ref: ObjectRef | KubeObject): unknown {
  if (!(err instanceof GitOpsError)) return err;
  const name = 'metadata' in ref ? ref.metadata?.name : ref.name;
  const namespace = 'metadata' in ref ? ref.metadata?.namespace : ref.namespace;
  try {
    const gvk = refGvk(ref);
    const key: ObjectKey = { group: gvk.group, kind: gvk.kind, name: String(name ?? '') };
    if (namespace) key.namespace = namespace;
    return err.withDetails({ object: objectKeyToString(key) });
  } catch {
    return err;
  }
}
