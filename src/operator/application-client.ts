/**
 * The Application kind on a cluster: list, get, watch (list, then a watch that resumes from the
 * last version, keeps it fresh with bookmarks and lists again after a 410), and the status
 * subresource. The one place that knows the kind's REST paths.
 */
import { resourcePath, watchObjects } from '../kube/index.js';
import type { KubeClient, ResourceInfo, WatchEvent } from '../kube/index.js';
import { ErrorCodes, GitOpsError } from '../runtime/index.js';
import {
  APPLICATION_GROUP,
  APPLICATION_KIND,
  APPLICATION_PLURAL,
  APPLICATION_VERSION,
  applicationKey,
} from './application.js';
import type { Application, ApplicationStatus } from './application.js';

/** How many object results a status written to the cluster carries at most (etcd's object size). */
export const STATUS_OBJECTS_LIMIT = 500;

const APPLICATIONS: ResourceInfo = {
  group: APPLICATION_GROUP,
  version: APPLICATION_VERSION,
  kind: APPLICATION_KIND,
  resource: APPLICATION_PLURAL,
  namespaced: true,
  verbs: ['get', 'list', 'watch', 'patch'],
};

export interface ApplicationWatchOptions {
  /** One namespace, or every namespace when undefined. */
  namespace?: string;
  signal?: AbortSignal;
  /** Called after every (re)list: 'initial' once the first list's objects were sent. */
  onRelist?: (reason: 'initial' | 'gone' | 'error') => void;
}

export class ApplicationClient {
  constructor(readonly client: KubeClient) {}

  /** The Applications of one namespace, or of every namespace when `namespace` is undefined. */
  async list(namespace?: string, signal?: AbortSignal): Promise<Application[]> {
    const list = await this.client.list(
      { group: APPLICATION_GROUP, version: APPLICATION_VERSION, kind: APPLICATION_KIND },
      { ...(namespace === undefined ? {} : { namespace }), ...(signal === undefined ? {} : { signal }) },
    );
    return list.items as Application[];
  }

  /** One Application; NotFound when it does not exist. */
  async get(namespace: string, name: string, signal?: AbortSignal): Promise<Application> {
    const app = await this.client.get(
      { apiVersion: `${APPLICATION_GROUP}/${APPLICATION_VERSION}`, kind: APPLICATION_KIND, namespace, name },
      signal,
    );
    if (app === undefined) {
      throw new GitOpsError(ErrorCodes.NotFound, `application ${namespace}/${name} does not exist`, {
        details: { object: `${APPLICATION_GROUP}/${APPLICATION_KIND}/${namespace}/${name}` },
      });
    }
    return app as Application;
  }

  /**
   * Every change to the Applications until `signal` aborts: the current ones as ADDED, then
   * what the watch sees. A broken stream resumes from the last version; a 410 lists again and
   * replays the differences (deletions included). Forbidden and NotFound (the kind is not
   * installed) end it with that error.
   */
  watch(options: ApplicationWatchOptions = {}): AsyncGenerator<WatchEvent> {
    return watchObjects(this.client, APPLICATIONS, {
      ...(options.namespace === undefined ? {} : { namespace: options.namespace }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      ...(options.onRelist === undefined ? {} : { onRelist: options.onRelist }),
    });
  }

  /** Writes `status` to the Application's status subresource (a merge patch: other fields stay). */
  async patchStatus(app: Application, status: ApplicationStatus, signal?: AbortSignal): Promise<void> {
    const namespace = app.metadata.namespace ?? this.client.defaultNamespace;
    await this.client.rest.request({
      method: 'PATCH',
      path: `${resourcePath(APPLICATIONS, namespace, app.metadata.name)}/status`,
      body: { status: { ...status, objects: status.objects?.slice(0, STATUS_OBJECTS_LIMIT) } },
      contentType: 'application/merge-patch+json',
      object: `${APPLICATION_GROUP}/${APPLICATION_KIND}/${applicationKey(app)}`,
      verb: 'status update of',
      ...(signal === undefined ? {} : { signal }),
    });
  }
}
