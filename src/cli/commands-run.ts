/**
 * `gitops run` (the operator: Applications from the cluster, HTTP server, leader election) and
 * `gitops apps` (the Applications of the cluster and their status).
 */
import type { pino } from 'pino';
import { stringify } from 'yaml';

import type { KubeClient } from '../kube/index.js';
import { ErrorCodes, GitOpsError, stringifyJson, toGitOpsError } from '../runtime/index.js';
import { createServer } from '../server/index.js';
import {
  APPLICATION_GROUP,
  APPLICATION_KIND,
  APPLICATION_PLURAL,
  APPLICATION_VERSION,
  DestinationTargets,
  EngineTarget,
  LeaderElector,
  Operator,
  SyncEventRecorder,
  applicationKey,
  chartRepositoriesFromSecrets,
  credentialsFromSecret,
  toApplication,
} from '../operator/index.js';
import type { Application, ApplicationStatus } from '../operator/index.js';
import { logEvent, openTarget, printViews, table } from './commands-sync.js';
import type { GlobalFlags } from './global.js';
import { cliLogger } from './log.js';
import type { Output } from './report.js';
import { exitCodeOf, reportError } from './report.js';

export interface RunFlags extends GlobalFlags {
  listen: string;
  metricsListen: string;
  leaderElect: boolean;
  leaseNamespace: string;
  resync: string;
  insecureNoAuth: boolean;
  allowInsecureDestinationTls: boolean;
  output?: 'table' | 'json' | 'yaml' | 'name';
}

export interface AppsFlags extends GlobalFlags {
  allNamespaces: boolean;
  output: 'table' | 'json' | 'yaml' | 'name';
}

/** `gitops apps [name]`: 0 listed (none failed), 1 an application failed or the list could not be read. */
export async function runApps(name: string | undefined, flags: AppsFlags, output: Output): Promise<number> {
  try {
    const target = new EngineTarget({ kubeconfig: flags.kubeconfig, context: flags.context });
    let parsed: { items?: Application[] } & Partial<Application>;
    try {
      const namespace = flags.namespace ?? target.client.defaultNamespace;
      parsed =
        name === undefined
          ? await listApplications(target.client, flags.allNamespaces ? undefined : namespace)
          : await getApplication(target.client, namespace, name);
    } finally {
      target.close();
    }
    const apps = parsed.items ?? [parsed as Application];
    if (flags.output === 'json') output.out(stringifyJson(parsed, 2));
    else if (flags.output === 'yaml') output.out(stringify(parsed).trimEnd());
    else if (flags.output === 'name')
      for (const a of apps)
        output.out(`${APPLICATION_PLURAL.slice(0, -1)}.${APPLICATION_GROUP}/${a.metadata.name}`);
    else {
      const rows = apps.map((a) => [
        a.metadata.namespace ?? '',
        a.metadata.name,
        a.status?.phase ?? 'Pending',
        a.status?.health ?? 'Unknown',
        (a.status?.lastSyncedRevision ?? '').slice(0, 12),
        a.status?.lastError?.message ?? '',
      ]);
      table([['NAMESPACE', 'NAME', 'PHASE', 'HEALTH', 'REVISION', 'ERROR'], ...rows], output);
    }
    return apps.some((a) => a.status?.phase === 'Failed') ? 1 : 0;
  } catch (error) {
    reportError(output, error);
    return exitCodeOf(error);
  }
}

/** `gitops run`: the operator, until SIGINT/SIGTERM (0), or until it loses its lease (1). */
export async function runOperator(flags: RunFlags, output: Output): Promise<number> {
  const log = cliLogger('gitops-operator', flags.logLevel);
  const target = openTarget(flags, output);
  if (typeof target === 'number') return target;
  const client = target.client;
  const destinations = new DestinationTargets(target, {
    allowInsecureTls: flags.allowInsecureDestinationTls,
  });
  const written = new Map<string, string>();
  const operator = new Operator({
    target: destinations,
    events: new SyncEventRecorder(client, {
      onError: (error) => log.warn({ error: error.toJSON() }, 'recording an Event failed'),
    }),
    onStatus: (app, status) => void writeStatus(client, app, status, written, log),
    credentialsFor: (app) => credentialsFromSecret(client, app),
    chartRepositoriesFor: (app) => chartRepositoriesFromSecrets(client, app),
  });
  operator.on((event) => logEvent(log, event));
  const apiToken = process.env.GITOPS_API_TOKEN;
  const webhookSecret = process.env.GITOPS_WEBHOOK_SECRET;
  let elector: LeaderElector | undefined;
  let server;
  try {
    server = createServer({
      operator,
      ...(apiToken === undefined || apiToken === '' ? {} : { apiToken }),
      ...(webhookSecret === undefined || webhookSecret === ''
        ? {}
        : { webhookSecret: webhookSecret.split(',') }),
      insecureNoAuth: flags.insecureNoAuth,
      ready: () => true,
      separateMetrics: flags.metricsListen !== '',
    });
  } catch (error) {
    reportError(output, error);
    await operator.stop();
    destinations.close();
    target.close();
    return exitCodeOf(error);
  }
  const [host, port] = splitHostPort(flags.listen);
  const url = await server.listen({ host, port });
  if (flags.metricsListen === '') log.info({ url }, 'listening');
  else {
    const [metricsHost, metricsPort] = splitHostPort(flags.metricsListen);
    const metricsUrl = await server.listenMetrics({ host: metricsHost, port: metricsPort });
    log.info({ url, metricsUrl }, 'listening');
  }

  // Shutdown aborts the discovery loop wherever it is: a list in flight (and its retries) ends
  // at once, and nothing is scheduled again after the signal.
  const shutdown = new AbortController();
  let discovery: NodeJS.Timeout | undefined;
  let discovering: Promise<void> | undefined;
  const discover = async (): Promise<void> => {
    try {
      const list = await listApplications(client, flags.namespace, shutdown.signal);
      if (shutdown.signal.aborted) return;
      const seen = new Set<string>();
      for (const item of list.items) {
        try {
          const app = toApplication(item);
          seen.add(applicationKey(app));
          const known = operator.get(applicationKey(app));
          if (known === undefined || JSON.stringify(known.app.spec) !== JSON.stringify(app.spec))
            operator.upsert(app);
        } catch (error) {
          log.warn({ error: toGitOpsError(error).toJSON() }, 'an Application is invalid');
        }
      }
      for (const view of operator.list()) {
        if (shutdown.signal.aborted) return;
        if (!seen.has(view.key)) await operator.remove(view.key);
      }
    } catch (error) {
      if (shutdown.signal.aborted) return;
      log.warn({ error: toGitOpsError(error).toJSON() }, 'listing Applications failed; retrying');
    }
  };
  const act = (): void => {
    if (shutdown.signal.aborted) return;
    operator.start();
    const loop = (): void => {
      if (shutdown.signal.aborted) return;
      discovering = discover().finally(() => {
        if (!shutdown.signal.aborted) discovery = setTimeout(loop, Number(flags.resync) * 1000);
      });
    };
    loop();
  };

  let lostLeadership = false;
  // Releasing the lease on SIGTERM also ends leadership; that is a clean stop, not a lost lease.
  let shuttingDown = false;
  const stopped = new Promise<void>((done) => {
    process.once('SIGTERM', done);
    process.once('SIGINT', done);
    if (flags.leaderElect) {
      elector = new LeaderElector({
        client,
        namespace: flags.leaseNamespace,
        onStartedLeading: () => {
          log.info({ identity: elector!.identity }, 'leading');
          act();
        },
        // A replica that lost the lease may still hold stale work: stop, and let Kubernetes restart it.
        onStoppedLeading: () => {
          if (shuttingDown) return;
          lostLeadership = true;
          log.warn('lost the lease; stopping');
          done();
        },
        onError: (error) => log.debug({ error: error.toJSON() }, 'lease attempt failed'),
      });
      elector.start();
    } else act();
  });
  await stopped;
  shuttingDown = true;
  log.info('shutting down');
  shutdown.abort();
  clearTimeout(discovery);
  await discovering;
  await operator.stop();
  await elector?.stop();
  await server.close();
  destinations.close();
  target.close();
  if (flags.output !== undefined) printViews(operator.list(), flags.output, output);
  return lostLeadership ? 1 : 0;
}

// Only changes that matter are written, so a busy operator does not flood the API server.
async function writeStatus(
  client: KubeClient,
  app: Application,
  status: ApplicationStatus,
  written: Map<string, string>,
  log: pino.Logger,
): Promise<void> {
  const key = applicationKey(app);
  const fingerprint = JSON.stringify([
    status.phase,
    status.health,
    status.observedGeneration,
    status.conditions?.map((c) => c.reason),
    status.lastSyncedRevision,
    status.lastError?.message,
  ]);
  if (written.get(key) === fingerprint) return;
  written.set(key, fingerprint);
  try {
    await client.rest.request({
      method: 'PATCH',
      path: `${applicationsPath(app.metadata.namespace)}/${encodeURIComponent(app.metadata.name)}/status`,
      body: { status: { ...status, objects: status.objects?.slice(0, 500) } },
      contentType: 'application/merge-patch+json',
      object: `${APPLICATION_GROUP}/${APPLICATION_KIND}/${key}`,
      verb: 'status update of',
    });
  } catch (error) {
    written.delete(key);
    log.warn({ app: key, error: toGitOpsError(error).toJSON() }, 'writing status failed');
  }
}

function splitHostPort(listen: string): [string, number] {
  const at = listen.lastIndexOf(':');
  return at === -1
    ? ['0.0.0.0', Number(listen)]
    : [listen.slice(0, at) || '0.0.0.0', Number(listen.slice(at + 1))];
}

function applicationsPath(namespace: string | undefined): string {
  const base = `/apis/${APPLICATION_GROUP}/${APPLICATION_VERSION}`;
  return namespace === undefined
    ? `${base}/${APPLICATION_PLURAL}`
    : `${base}/namespaces/${encodeURIComponent(namespace)}/${APPLICATION_PLURAL}`;
}

/** The Applications of one namespace, or of all when `namespace` is undefined. */
async function listApplications(
  client: KubeClient,
  namespace: string | undefined,
  signal?: AbortSignal,
): Promise<{ items: Application[] }> {
  const list = await client.list(
    { group: APPLICATION_GROUP, version: APPLICATION_VERSION, kind: APPLICATION_KIND },
    { ...(namespace === undefined ? {} : { namespace }), ...(signal === undefined ? {} : { signal }) },
  );
  return { items: list.items as Application[] };
}

async function getApplication(client: KubeClient, namespace: string, name: string): Promise<Application> {
  const app = await client.get({
    apiVersion: `${APPLICATION_GROUP}/${APPLICATION_VERSION}`,
    kind: APPLICATION_KIND,
    namespace,
    name,
  });
  if (app === undefined) {
    throw new GitOpsError(ErrorCodes.NotFound, `application ${namespace}/${name} does not exist`, {
      details: { object: `${APPLICATION_GROUP}/${APPLICATION_KIND}/${namespace}/${name}` },
    });
  }
  return app as Application;
}
