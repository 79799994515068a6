/**
 * List, then watch, for as long as the caller wants: bookmarks keep the resume point fresh,
 * a closed stream is reopened from the last version seen, and a 410 Gone (the version fell out
 * of the server's window) triggers a fresh list whose differences are replayed as events, so no
 * change, deletions included, is ever missed.
 */
import {
  ErrorCodes,
  GitOpsError,
  backoffDelay,
  isPlainObject,
  parseJsonExact,
  sleep,
} from '../runtime/index.js';
import type { KubeObject } from '../runtime/index.js';
import type { ResourceInfo } from './discovery.js';
import type { KubeClient } from './kube-client.js';
import { resourcePath } from './kube-client.js';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface WatchEvent {
  type: WatchEventType;
  object: KubeObject;
}

export interface KubeWatchOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Start from this version instead of listing first (the initial objects are then not sent). */
  resourceVersion?: string;
  /** Send the objects of the first list as ADDED (default true). */
  sendInitialList?: boolean;
  /** Called after every (re)list, e.g. so a test or a metric can see a 410 recovery. */
  onRelist?: (reason: 'initial' | 'gone' | 'error') => void;
  signal?: AbortSignal;
}

interface Known {
  resourceVersion: string;
  /**
   * The object's identity only (type, name, namespace, uid, labels): kept for every object for
   * as long as the watch runs, so a watch of 10,000 objects does not hold 10,000 whole objects.
   */
  object: KubeObject;
}

/** What a relist's DELETED event carries: the identity of an object that is gone. */
function identityOf(object: KubeObject): KubeObject {
  const m = object.metadata ?? {};
  return {
    apiVersion: object.apiVersion,
    kind: object.kind,
    metadata: {
      ...(m.name === undefined ? {} : { name: m.name }),
      ...(m.namespace === undefined ? {} : { namespace: m.namespace }),
      ...(m.uid === undefined ? {} : { uid: m.uid }),
      ...(m.resourceVersion === undefined ? {} : { resourceVersion: m.resourceVersion }),
      ...(m.labels === undefined ? {} : { labels: m.labels }),
    },
  };
}

/**
 * Events for one resource, until `signal` aborts. A DELETED found by a relist (the object went
 * while the watch was broken) carries the object's identity only: type, name, namespace, uid,
 * resourceVersion and labels.
 */
export async function* watchObjects(
  client: KubeClient,
  info: ResourceInfo,
  options: KubeWatchOptions = {},
): AsyncGenerator<WatchEvent> {
  const signal = options.signal;
  const known = new Map<string, Known>();
  const apiVersion = info.group === '' ? info.version : `${info.group}/${info.version}`;
  const typed = (object: KubeObject): KubeObject => ({ ...object, apiVersion, kind: info.kind });
  let resourceVersion = options.resourceVersion;
  let needList = resourceVersion === undefined;
  let firstList = true;
  let failures = 0;
  while (!signal?.aborted) {
    try {
      if (needList) {
        // Page by page, so a list of 10,000 objects is never held at once; what was known and
        // is in no page is gone.
        const listed = new Set<string>();
        for await (const page of client.listResourcePages(info, { ...options, signal })) {
          if (page.first) listed.clear();
          const events = diffPage(known, page.items.map(typed), listed);
          if (!firstList || options.sendInitialList !== false) yield* events;
          if (page.last) resourceVersion = page.resourceVersion;
        }
        const gone = removeUnlisted(known, listed);
        if (!firstList || options.sendInitialList !== false) yield* gone;
        options.onRelist?.(firstList ? 'initial' : failures > 0 ? 'error' : 'gone');
        firstList = false;
        needList = false;
      }
      const res = await client.rest.stream({
        path: resourcePath(info, info.namespaced ? (options.namespace ?? '') : ''),
        query: {
          watch: 1,
          allowWatchBookmarks: true,
          resourceVersion,
          labelSelector: options.labelSelector,
          fieldSelector: options.fieldSelector,
          // Spread reconnects out, as client-go does.
          timeoutSeconds: 300 + Math.floor(Math.random() * 300),
        },
        signal,
      });
      failures = 0;
      // Aborting makes the response emit an error after we stopped reading; it is expected.
      res.on('error', () => undefined);
      let buffer = '';
      try {
        for await (const chunk of res) {
          buffer += (chunk as Buffer).toString('utf8');
          let newline: number;
          while ((newline = buffer.indexOf('\n')) >= 0) {
            const line = buffer.slice(0, newline).trim();
            buffer = buffer.slice(newline + 1);
            if (line === '') continue;
            const event = parseJsonExact(line) as { type?: string; object?: unknown };
            if (event.type === 'ERROR') {
              const status = isPlainObject(event.object) ? event.object : {};
              if (status.code === 410 || status.reason === 'Expired' || status.reason === 'Gone') {
                needList = true;
                break;
              }
              throw new GitOpsError(
                ErrorCodes.InternalError,
                `watch of ${info.resource}: ${typeof status.message === 'string' ? status.message : 'error event'}`,
                { details: { resource: info.resource } },
              );
            }
            if (!isPlainObject(event.object)) continue;
            const object = typed(event.object as KubeObject);
            const rv = object.metadata?.resourceVersion;
            if (rv !== undefined) resourceVersion = rv;
            if (event.type === 'BOOKMARK') continue;
            if (event.type !== 'ADDED' && event.type !== 'MODIFIED' && event.type !== 'DELETED') continue;
            const id = idOf(object);
            if (event.type === 'DELETED') known.delete(id);
            else known.set(id, { resourceVersion: rv ?? '', object: identityOf(object) });
            yield { type: event.type, object };
          }
          if (needList) break;
        }
      } finally {
        res.destroy();
      }
    } catch (err) {
      if (signal?.aborted) return;
      if (err instanceof GitOpsError && err.code === ErrorCodes.Gone) {
        needList = true;
        continue;
      }
      failures++;
      if (
        err instanceof GitOpsError &&
        (err.code === ErrorCodes.Forbidden || err.code === ErrorCodes.NotFound)
      ) {
        throw err;
      }
      // Anything else (a broken connection, a restarting server): wait, then list again.
      needList = true;
      try {
        await sleep(backoffDelay(failures, { initialMs: 250, maxMs: 30_000 }), signal);
      } catch {
        return;
      }
    }
  }
}

function idOf(object: KubeObject): string {
  return `${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''}`;
}

/** What a page of a fresh list changes against what we knew; updates `known` and `listed`. */
function diffPage(known: Map<string, Known>, items: KubeObject[], listed: Set<string>): WatchEvent[] {
  const events: WatchEvent[] = [];
  for (const object of items) {
    const id = idOf(object);
    listed.add(id);
    const rv = object.metadata?.resourceVersion ?? '';
    const before = known.get(id);
    if (before === undefined) events.push({ type: 'ADDED', object });
    else if (before.resourceVersion !== rv) events.push({ type: 'MODIFIED', object });
    known.set(id, { resourceVersion: rv, object: identityOf(object) });
  }
  return events;
}

/** DELETED for what we knew and a complete fresh list did not hold; updates `known`. */
function removeUnlisted(known: Map<string, Known>, listed: ReadonlySet<string>): WatchEvent[] {
  const events: WatchEvent[] = [];
  for (const [id, entry] of known) {
    if (!listed.has(id)) {
      known.delete(id);
      events.push({ type: 'DELETED', object: entry.object });
    }
  }
  return events;
}
