/**
 * `gitops sync` and `gitops diff`: the seed's clone-pull-apply loop as one command (once, or
 * following the remote), and what a sync would change. A repository URL or a local folder makes
 * an application on the fly; a bare name reads that Application from the cluster. Repository
 * credentials come from a Secret (`--credentials-secret`, or the Application's own reference),
 * read as the operator reads them, so no secret is ever on the command line.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

import { Command, Option } from 'commander';
import { pino } from 'pino';
import { stringify } from 'yaml';

import { ErrorCodes, GitOpsError, stringifyJson } from '../runtime/index.js';
import {
  APPLICATION_API_VERSION,
  APPLICATION_KIND,
  EngineTarget,
  DestinationTargets,
  Operator,
  applicationFor,
  applicationKey,
  chartRepositoriesFromSecrets,
  credentialsFromSecret,
  toApplication,
} from '../sync/index.js';
import type { Application, ApplicationView, OperatorEvent, OperatorOptions } from '../sync/index.js';
import type { Output } from './report.js';
import { reportError } from './report.js';

export interface ClusterFlags {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
}

interface SyncFlags extends ClusterFlags {
  path: string[];
  branch?: string;
  once: boolean;
  prune: boolean;
  dryRun: boolean;
  selfHeal: boolean;
  interval?: string;
  name?: string;
  credentialsSecret?: string;
  /** Helm values files (relative to the chart's folder) and `--set` values, after the application's own. */
  values?: string[];
  set?: string[];
  output: 'table' | 'json' | 'yaml';
}

const VALUES_HELP = 'Helm values file, relative to the chart folder (repeatable; after the Application\'s own)';
const SET_HELP = 'Helm value NAME=VALUE (repeatable; wins over values files)';

const CREDENTIALS_SECRET_HELP =
  'Secret with the repository credentials (username/password, token, or identity/known_hosts), ' +
  "read from the namespace of -n (default: the kubeconfig context's)";

export function addClusterFlags(command: Command): Command {
  return command
    .option('--kubeconfig <file>', 'kubeconfig file (default: KUBECONFIG, in-cluster, ~/.kube/config)')
    .option('--context <name>', 'kubeconfig context')
    .option('-n, --namespace <namespace>', 'namespace of the application (and default for its objects)');
}

export function syncCommand(output: Output, setCode: (code: number) => void): Command {
  const command = new Command('sync')
    .description(
      'apply a repository (URL or local folder) or an Application to the cluster, in order, with prune',
    )
    .argument('<repo-or-app>', 'a Git URL, a local Git folder, or the name of an Application in the cluster')
    .option('--path <path>', 'folder inside the repository (repeatable; default the root)', collect, [])
    .option('--branch <branch>', 'branch to follow', undefined)
    .option('--once', 'sync once and exit (default: keep following the remote)', false)
    .option('--prune', 'delete objects whose files were removed', false)
    .option('--dry-run', 'ask the API server what would change; change nothing', false)
    .option('--self-heal', 'restore objects changed in the cluster', false)
    .option('--interval <duration>', 'how often to look for changes when following (e.g. 30s, 3m)')
    .option('--name <name>', 'name of the application made from a URL (default: sync)')
    .option('--credentials-secret <name>', CREDENTIALS_SECRET_HELP)
    .option('--values <file>', VALUES_HELP, collect, [])
    .option('--set <name=value>', SET_HELP, collect, [])
    .addOption(
      new Option('-o, --output <format>', 'output format')
        .choices(['table', 'json', 'yaml'])
        .default('table'),
    );
  addClusterFlags(command).action(async (target: string, flags: SyncFlags) => {
    setCode(await runSync(target, flags, output));
  });
  return command;
}

export function diffCommand(output: Output, setCode: (code: number) => void): Command {
  const command = new Command('diff')
    .description('show what a sync would change (exit 1 when something would)')
    .argument('<repo-or-app>', 'a Git URL, a local Git folder, or an Application name')
    .option('--path <path>', 'folder inside the repository (repeatable)', collect, [])
    .option('--branch <branch>', 'branch')
    .option('--credentials-secret <name>', CREDENTIALS_SECRET_HELP)
    .option('--values <file>', VALUES_HELP, collect, [])
    .option('--set <name=value>', SET_HELP, collect, []);
  addClusterFlags(command).action(async (target: string, flags: SyncFlags) => {
    let target_: EngineTarget;
    try {
      target_ = new EngineTarget({ kubeconfig: flags.kubeconfig, context: flags.context });
    } catch (error) {
      reportError(output, error);
      setCode(2);
      return;
    }
    // An Application read from the cluster may name another cluster as its destination.
    const destinations = new DestinationTargets(target_);
    const operator = new Operator({
      target: destinations,
      follow: false,
      credentialsFor: credentialsIn(target_),
      chartRepositoriesFor: (app) => chartRepositoriesFromSecrets(target_.client, app),
    });
    try {
      const app = await resolveApplication(
        target,
        { ...flags, once: true, prune: false, dryRun: true, selfHeal: false, output: 'table' },
        target_,
      );
      operator.upsert(app);
      const diff = await operator.diff(applicationKey(app));
      if (diff !== '') output.out(diff.trimEnd());
      setCode(diff === '' ? 0 : 1);
    } catch (error) {
      reportError(output, error);
      setCode(2);
    } finally {
      await operator.stop();
      destinations.close();
      target_.close();
    }
  });
  return command;
}

async function runSync(targetArg: string, flags: SyncFlags, output: Output): Promise<number> {
  let target: EngineTarget;
  let app: Application;
  try {
    target = new EngineTarget({ kubeconfig: flags.kubeconfig, context: flags.context });
  } catch (error) {
    reportError(output, error);
    return 2;
  }
  try {
    app = await resolveApplication(targetArg, flags, target);
  } catch (error) {
    reportError(output, error);
    target.close();
    return 2;
  }
  const destinations = new DestinationTargets(target);
  const operator = new Operator({
    target: destinations,
    follow: !flags.once,
    dryRun: flags.dryRun,
    credentialsFor: credentialsIn(target),
    chartRepositoriesFor: (app) => chartRepositoriesFromSecrets(target.client, app),
  });
  const stopProgress = reportProgress(operator, output);
  operator.upsert(app);
  try {
    if (flags.once) {
      const views = await operator.syncAll('manual');
      printViews(views, flags.output, output);
      return views.some((v) => v.status.phase === 'Failed') ? 1 : 0;
    }
    operator.start();
    await new Promise<void>((done) => {
      process.once('SIGINT', done);
      process.once('SIGTERM', done);
    });
    printViews(operator.list(), flags.output, output);
    return 0;
  } finally {
    stopProgress();
    await operator.stop();
    destinations.close();
    target.close();
  }
}

/** Reads an application's credentialsSecretRef through the operator's own reader (values never logged). */
function credentialsIn(target: EngineTarget): OperatorOptions['credentialsFor'] {
  return (app) => credentialsFromSecret(target.client, app);
}

// A Secret's name as the API server accepts it (a DNS subdomain), checked before any request.
const SECRET_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

async function resolveApplication(
  targetArg: string,
  flags: SyncFlags,
  target: EngineTarget,
): Promise<Application> {
  const secret = flags.credentialsSecret;
  if (secret !== undefined && !SECRET_NAME.test(secret)) {
    throw new GitOpsError(
      ErrorCodes.Invalid,
      `--credentials-secret "${secret}" is not a Secret name (lower-case letters, digits, "-" and ".")`,
      { details: { field: '--credentials-secret' } },
    );
  }
  const app = await applicationOf(targetArg, flags, target);
  if (secret !== undefined) app.spec.source.credentialsSecretRef = { name: secret };
  if ((flags.values?.length ?? 0) > 0 || (flags.set?.length ?? 0) > 0) {
    const helm = app.spec.source.helm ?? { valueFiles: [], parameters: [], includeCRDs: true, repositories: [] };
    const parameters = (flags.set ?? []).map((pair) => {
      const eq = pair.indexOf('=');
      if (eq <= 0) {
        throw new GitOpsError(ErrorCodes.Invalid, `--set "${pair}" must be NAME=VALUE, e.g. image.tag=1.2.3`, {
          details: { field: '--set' },
        });
      }
      return { name: pair.slice(0, eq), value: pair.slice(eq + 1) };
    });
    app.spec.source.helm = {
      ...helm,
      valueFiles: [...helm.valueFiles, ...(flags.values ?? [])],
      parameters: [...helm.parameters, ...parameters],
    };
  }
  return app;
}

async function applicationOf(
  targetArg: string,
  flags: SyncFlags,
  target: EngineTarget,
): Promise<Application> {
  // As kubectl does: -n, else the kubeconfig context's namespace; the Secret is read from there too.
  const namespace = flags.namespace ?? target.client.defaultNamespace;
  const looksLikeRepo =
    /^[a-z][a-z0-9+.-]*:\/\//i.test(targetArg) || /^[^/]+@[^:]+:/.test(targetArg) || existsSync(targetArg);
  if (looksLikeRepo) {
    const repoURL = existsSync(targetArg) ? pathToFileURL(resolve(targetArg)).href : targetArg;
    return applicationFor({
      name: flags.name ?? 'sync',
      namespace,
      repoURL,
      ...(flags.branch === undefined ? {} : { branch: flags.branch }),
      paths: flags.path,
      destinationNamespace: namespace,
      prune: flags.prune,
      selfHeal: flags.selfHeal,
      ...(flags.interval === undefined ? {} : { interval: flags.interval }),
    });
  }
  const notFound = (cause?: unknown): GitOpsError =>
    new GitOpsError(
      ErrorCodes.NotFound,
      `"${targetArg}" is neither a Git URL, a local folder, nor an Application in namespace ${namespace}`,
      { ...(cause === undefined ? {} : { cause }), details: { object: targetArg } },
    );
  const found = await target.client
    .get({ apiVersion: APPLICATION_API_VERSION, kind: APPLICATION_KIND, namespace, name: targetArg })
    .catch((cause: unknown) => {
      throw notFound(cause);
    });
  if (found === undefined) throw notFound();
  const app = toApplication(found);
  if (flags.prune) app.spec.policy.prune = true;
  return app;
}

/** Human lines on a terminal; JSON lines (pino) otherwise. */
function reportProgress(operator: Operator, output: Output): () => void {
  const tty = process.stderr.isTTY === true;
  const log = tty ? undefined : pino({ base: { component: 'gitops-sync' } }, pino.destination(2));
  return operator.on((event: OperatorEvent) => {
    if (log !== undefined) {
      logEvent(log, event);
      return;
    }
    if (event.type === 'progress') output.err(`${event.app}: ${event.step}`);
    if (event.type === 'fetch')
      output.err(
        `fetch ${event.repository}: ${event.result}${event.revision ? ` ${event.revision.slice(0, 12)}` : ''}`,
      );
    if (event.type === 'sync') {
      const r = event.record;
      const what = r.error === undefined ? `${r.objects} objects` : `${r.error.code}: ${r.error.message}`;
      output.err(`${r.app}: ${r.result} (${what}) in ${Math.round(r.durationMs)} ms`);
    }
  });
}

export function logEvent(log: pino.Logger, event: OperatorEvent): void {
  switch (event.type) {
    case 'sync': {
      const { error, ...record } = event.record;
      if (error === undefined) log.info({ ...record }, 'sync');
      else log.warn({ ...record, error: error.toJSON() }, 'sync failed');
      break;
    }
    case 'fetch': {
      const { error, type: _type, ...rest } = event;
      if (error === undefined) log.info(rest, 'fetch');
      else log.warn({ ...rest, error: error.toJSON() }, 'fetch failed');
      break;
    }
    case 'progress':
      log.debug({ app: event.app, step: event.step }, 'progress');
      break;
    case 'drift':
      log.info({ app: event.app, object: event.object, reason: event.reason }, 'drift');
      break;
    case 'drift-watch-failed':
      log.warn(
        { app: event.app, error: event.error.toJSON() },
        'drift watch failed; drift is found at each interval',
      );
      break;
    default:
      break;
  }
}

export function printViews(
  views: ApplicationView[],
  format: 'table' | 'json' | 'yaml',
  output: Output,
): void {
  const data = views.map((v) => ({ name: v.key, status: v.status }));
  if (format === 'json') output.out(stringifyJson(data.length === 1 ? data[0] : data, 2));
  else if (format === 'yaml') output.out(stringify(data.length === 1 ? data[0] : data).trimEnd());
  else {
    const rows = views.map((v) => [
      v.key,
      v.status.phase,
      v.status.health,
      (v.status.lastSyncedRevision ?? '').slice(0, 12),
      String(v.status.objects?.length ?? 0),
      v.status.lastError?.message ?? '',
    ]);
    table([['APPLICATION', 'PHASE', 'HEALTH', 'REVISION', 'OBJECTS', 'ERROR'], ...rows], output);
    for (const v of views) {
      for (const o of v.status.objects ?? []) output.out(`  ${o.action.padEnd(11)} ${o.object}`);
    }
  }
}

export function table(rows: string[][], output: Output): void {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  for (const row of rows)
    output.out(
      row
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    );
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
