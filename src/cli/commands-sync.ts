/**
 * `gitops sync` and `gitops diff`: the seed's clone-pull-apply loop as one command (once by
 * default, or following the source with `--follow`), and what a sync would change. A repository
 * URL or a local folder (Git or plain) makes an application on the fly, named after its source; a
 * bare name reads that Application from the cluster. Repository credentials come from a Secret
 * (`--credentials-secret`, or the Application's own reference), read as the operator reads them,
 * so no secret is ever on the command line.
 */
import type { pino } from 'pino';
import { stringify } from 'yaml';

import { ErrorCodes, GitOpsError, parseObjectKey, stringifyJson } from '../runtime/index.js';
import {
  APPLICATION_API_VERSION,
  APPLICATION_KIND,
  EngineTarget,
  OperatorManager,
  applicationFor,
  applicationKey,
  formatObjectDiffs,
  parseDuration,
  toApplication,
} from '../operator/index.js';
import type { Application, ApplicationView, ObjectDiff, OperatorEvent, Operator } from '../operator/index.js';
import type { GlobalFlags } from './global.js';
import { logs } from './global.js';
import { cliLogger } from './log.js';
import type { Output } from './report.js';
import { exitCodeOf, reportError } from './report.js';
import type { FolderSnapshot } from './source.js';
import { adHocApplicationName, looksLikeSource, resolveSource } from './source.js';

interface SourceFlags extends GlobalFlags {
  path: string[];
  branch?: string;
  name?: string;
  credentialsSecret?: string;
  /** Helm values files (relative to the chart's folder) and `--set` values, after the application's own. */
  values?: string[];
  set?: string[];
}

export interface SyncFlags extends SourceFlags {
  follow: boolean;
  once?: boolean;
  prune: boolean;
  dryRun: boolean;
  selfHeal: boolean;
  interval?: string;
  output: 'table' | 'json' | 'yaml' | 'name';
}

export interface DiffFlags extends SourceFlags {
  output: 'diff' | 'table' | 'json' | 'yaml' | 'name';
}

interface Resolved {
  app: Application;
  snapshot?: FolderSnapshot;
}

/** The cluster of --kubeconfig and --context, or the exit code once the reason is reported. */
export function openTarget(flags: GlobalFlags, output: Output): EngineTarget | number {
  try {
    return new EngineTarget({ kubeconfig: flags.kubeconfig, context: flags.context });
  } catch (error) {
    reportError(output, error);
    return exitCodeOf(error);
  }
}

/** `gitops sync`: 0 synced, 1 failed, 2 usage error. */
export async function runSync(sourceArg: string, flags: SyncFlags, output: Output): Promise<number> {
  if (flags.follow && flags.once === true) {
    reportError(output, usage('--follow', '--follow and --once exclude each other'));
    return 2;
  }
  const target = openTarget(flags, output);
  if (typeof target === 'number') return target;
  let resolved: Resolved;
  try {
    if (flags.interval !== undefined) parseDuration(flags.interval, '--interval');
    resolved = await resolveApplication(sourceArg, flags, target, {
      prune: flags.prune,
      selfHeal: flags.selfHeal,
      ...(flags.interval === undefined ? {} : { interval: flags.interval }),
    });
  } catch (error) {
    reportError(output, error);
    target.close();
    return exitCodeOf(error);
  }
  const { app, snapshot } = resolved;
  const manager = new OperatorManager({ target, follow: flags.follow, dryRun: flags.dryRun });
  const operator = manager.operator;
  const stopProgress = reportProgress(operator, output, flags.logLevel);
  operator.upsert(app);
  let refresh: NodeJS.Timeout | undefined;
  try {
    if (!flags.follow) {
      const views = await operator.syncAll('manual');
      printViews(views, flags.output, output);
      return views.some((v) => v.status.phase === 'Failed') ? 1 : 0;
    }
    operator.start();
    if (snapshot !== undefined) {
      // A plain folder has no remote to fetch: its files are copied again at each interval.
      const every = parseDuration(app.spec.policy.interval, '--interval');
      refresh = setInterval(() => {
        snapshot.refresh().then(
          (changed) => {
            if (changed) void operator.syncAll('manual').catch(() => undefined);
          },
          (error: unknown) => reportError(output, error),
        );
      }, every);
    }
    await new Promise<void>((done) => {
      process.once('SIGINT', done);
      process.once('SIGTERM', done);
    });
    printViews(operator.list(), flags.output, output);
    return 0;
  } finally {
    clearInterval(refresh);
    stopProgress();
    await manager.close();
    await snapshot?.close();
  }
}

/** `gitops diff`: 0 nothing would change, 1 something would (or the diff failed), 2 usage error. */
export async function runDiff(sourceArg: string, flags: DiffFlags, output: Output): Promise<number> {
  const target = openTarget(flags, output);
  if (typeof target === 'number') return target;
  // An Application read from the cluster may name another cluster as its destination.
  const manager = new OperatorManager({ target, follow: false });
  const operator = manager.operator;
  let snapshot: FolderSnapshot | undefined;
  try {
    const resolved = await resolveApplication(sourceArg, flags, target, { prune: false, selfHeal: false });
    snapshot = resolved.snapshot;
    operator.upsert(resolved.app);
    const diffs = await operator.diffObjects(applicationKey(resolved.app));
    printDiffs(diffs, flags.output, output);
    return diffs.length === 0 ? 0 : 1;
  } catch (error) {
    reportError(output, error);
    return exitCodeOf(error);
  } finally {
    await manager.close();
    await snapshot?.close();
  }
}

function printDiffs(diffs: ObjectDiff[], format: DiffFlags['output'], output: Output): void {
  if (format === 'json') output.out(stringifyJson(diffs, 2));
  else if (format === 'yaml') output.out(stringify(diffs).trimEnd());
  else if (format === 'name') for (const d of diffs) output.out(objectName(d.object));
  else if (format === 'table') {
    if (diffs.length === 0) return;
    const rows = diffs.map((d) => [d.action, d.object, String(d.changes.length)]);
    table([['ACTION', 'OBJECT', 'CHANGES'], ...rows], output);
  } else {
    const text = formatObjectDiffs(diffs);
    if (text !== '') output.out(text.trimEnd());
  }
}

/** An object key (`group/Kind/namespace/name`) as kubectl's `-o name` writes it: `kind.group/name`. */
export function objectName(id: string): string {
  try {
    const key = parseObjectKey(id);
    const kind = key.kind.toLowerCase();
    return `${key.group === '' ? kind : `${kind}.${key.group}`}/${key.name}`;
  } catch {
    return id;
  }
}

function usage(flag: string, message: string): GitOpsError {
  return new GitOpsError(ErrorCodes.Invalid, message, { details: { field: flag } });
}

// A Secret's name as the API server accepts it (a DNS subdomain), checked before any request.
const SECRET_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

async function resolveApplication(
  sourceArg: string,
  flags: SourceFlags,
  target: EngineTarget,
  policy: { prune: boolean; selfHeal: boolean; interval?: string },
): Promise<Resolved> {
  const secret = flags.credentialsSecret;
  if (secret !== undefined && !SECRET_NAME.test(secret)) {
    throw usage(
      '--credentials-secret',
      `--credentials-secret "${secret}" is not a Secret name (lower-case letters, digits, "-" and ".")`,
    );
  }
  // Checked before the source is resolved, so a bad value leaves no snapshot behind.
  const parameters = (flags.set ?? []).map((pair) => {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw usage('--set', `--set "${pair}" must be NAME=VALUE, e.g. image.tag=1.2.3`);
    return { name: pair.slice(0, eq), value: pair.slice(eq + 1) };
  });
  const resolved = await applicationOf(sourceArg, flags, target, policy);
  const app = resolved.app;
  if (secret !== undefined) app.spec.source.credentialsSecretRef = { name: secret };
  if ((flags.values?.length ?? 0) > 0 || parameters.length > 0) {
    const helm = app.spec.source.helm ?? {
      valueFiles: [],
      parameters: [],
      includeCRDs: true,
      repositories: [],
    };
    app.spec.source.helm = {
      ...helm,
      valueFiles: [...helm.valueFiles, ...(flags.values ?? [])],
      parameters: [...helm.parameters, ...parameters],
    };
  }
  return resolved;
}

async function applicationOf(
  sourceArg: string,
  flags: SourceFlags,
  target: EngineTarget,
  policy: { prune: boolean; selfHeal: boolean; interval?: string },
): Promise<Resolved> {
  // As kubectl does: -n, else the kubeconfig context's namespace; the Secret is read from there too.
  const namespace = flags.namespace ?? target.client.defaultNamespace;
  if (looksLikeSource(sourceArg)) {
    const source = await resolveSource(sourceArg, flags.path);
    try {
      const name = flags.name ?? adHocApplicationName(source.nameKey, flags.path);
      const app = applicationFor({
        name,
        namespace,
        repoURL: source.repoURL,
        ...(flags.branch === undefined ? {} : { branch: flags.branch }),
        paths: source.paths,
        destinationNamespace: namespace,
        ...policy,
      });
      return { app, ...(source.snapshot === undefined ? {} : { snapshot: source.snapshot }) };
    } catch (error) {
      await source.snapshot?.close();
      throw error;
    }
  }
  if (flags.name !== undefined)
    throw usage('--name', '--name names an application made from a URL or a folder');
  const notFound = (cause?: unknown): GitOpsError =>
    new GitOpsError(
      ErrorCodes.NotFound,
      `"${sourceArg}" is neither a Git URL, a local folder, nor an Application in namespace ${namespace}`,
      { ...(cause === undefined ? {} : { cause }), details: { object: sourceArg } },
    );
  const found = await target.client
    .get({ apiVersion: APPLICATION_API_VERSION, kind: APPLICATION_KIND, namespace, name: sourceArg })
    .catch((cause: unknown) => {
      throw notFound(cause);
    });
  if (found === undefined) throw notFound();
  const app = toApplication(found);
  if (policy.prune) app.spec.policy.prune = true;
  return { app };
}

/** Human lines on a terminal; JSON lines (pino) otherwise; both at the chosen --log-level. */
function reportProgress(operator: Operator, output: Output, level: GlobalFlags['logLevel']): () => void {
  const tty = process.stderr.isTTY === true;
  const log = tty ? undefined : cliLogger('gitops-sync', level);
  return operator.on((event: OperatorEvent) => {
    if (log !== undefined) {
      logEvent(log, event);
      return;
    }
    if (event.type === 'progress' && logs(level, 'debug')) output.err(`${event.app}: ${event.step}`);
    if (event.type === 'fetch' && logs(level, event.error === undefined ? 'info' : 'warn'))
      output.err(
        `fetch ${event.repository}: ${event.result}${event.revision ? ` ${event.revision.slice(0, 12)}` : ''}`,
      );
    if (event.type === 'sync') {
      const r = event.record;
      if (!logs(level, r.error === undefined ? 'info' : 'warn')) return;
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
  format: 'table' | 'json' | 'yaml' | 'name',
  output: Output,
): void {
  const data = views.map((v) => ({ name: v.key, status: v.status }));
  if (format === 'json') output.out(stringifyJson(data.length === 1 ? data[0] : data, 2));
  else if (format === 'yaml') output.out(stringify(data.length === 1 ? data[0] : data).trimEnd());
  else if (format === 'name') {
    // As `kubectl apply -o name`: the objects the sync applied or pruned.
    for (const v of views) for (const o of v.status.objects ?? []) output.out(objectName(o.object));
  } else {
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
