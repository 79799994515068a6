/**
 * `gitops run` (the operator: Applications watched on the cluster, HTTP server, leader election) and
 * `gitops apps` (the Applications of the cluster and their status).
 */
import { stringify } from 'yaml';

import { stringifyJson } from '../runtime/index.js';
import { createServer } from '../server/index.js';
import {
  APPLICATION_GROUP,
  APPLICATION_PLURAL,
  ApplicationClient,
  EngineTarget,
  LeaderElector,
  OperatorManager,
} from '../operator/index.js';
import type { Application } from '../operator/index.js';
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
  defaultServiceAccount?: string;
  requireServiceAccount?: boolean;
  /** False with `--no-cross-namespace-targets` (commander's negated flag). */
  crossNamespaceTargets?: boolean;
  trustedNamespace?: string[];
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
    let apps: Application[];
    let parsed: unknown;
    try {
      const client = new ApplicationClient(target.client);
      const namespace = flags.namespace ?? target.client.defaultNamespace;
      if (name === undefined) {
        apps = await client.list(flags.allNamespaces ? undefined : namespace);
        parsed = { items: apps };
      } else {
        const app = await client.get(namespace, name);
        apps = [app];
        parsed = app;
      }
    } finally {
      target.close();
    }
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
  const manager = new OperatorManager({
    target,
    allowInsecureDestinationTls: flags.allowInsecureDestinationTls,
    tenancy: {
      ...(flags.defaultServiceAccount === undefined
        ? {}
        : { defaultServiceAccount: flags.defaultServiceAccount }),
      requireServiceAccount: flags.requireServiceAccount === true,
      noCrossNamespaceTargets: flags.crossNamespaceTargets === false,
      trustedNamespaces: flags.trustedNamespace ?? [],
    },
    reportToCluster: true,
    log,
  });
  const operator = manager.operator;
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
    await manager.close();
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

  // Shutdown aborts the watch wherever it is: a list in flight (and its retries) ends at once,
  // and nothing is scheduled again after the signal.
  const shutdown = new AbortController();
  let watching: Promise<void> | undefined;
  const act = (): void => {
    if (shutdown.signal.aborted) return;
    operator.start();
    watching = manager.watchApplications({
      ...(flags.namespace === undefined ? {} : { namespace: flags.namespace }),
      signal: shutdown.signal,
      resyncMs: Number(flags.resync) * 1000,
    });
  };

  let lostLeadership = false;
  // Releasing the lease on SIGTERM also ends leadership; that is a clean stop, not a lost lease.
  let shuttingDown = false;
  const stopped = new Promise<void>((done) => {
    process.once('SIGTERM', done);
    process.once('SIGINT', done);
    if (flags.leaderElect) {
      elector = new LeaderElector({
        client: manager.client,
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
  await watching;
  await operator.stop();
  await elector?.stop();
  await server.close();
  await manager.close();
  if (flags.output !== undefined) printViews(operator.list(), flags.output, output);
  return lostLeadership ? 1 : 0;
}

function splitHostPort(listen: string): [string, number] {
  const at = listen.lastIndexOf(':');
  return at === -1
    ? ['0.0.0.0', Number(listen)]
    : [listen.slice(0, at) || '0.0.0.0', Number(listen.slice(at + 1))];
}
