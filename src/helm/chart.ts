/**
 * Rendering a Helm chart that sits in a folder: its dependencies fetched when `charts/` lacks
 * them (`helm dependency build`, from HTTP(S) chart repositories with optional basic auth or a
 * CA), then `helm template` with the release name, namespace, values files, inline values,
 * parameters, CRDs, and the destination's Kubernetes version and API versions. Every user text
 * that reaches helm is checked first and passed as `--flag=value` or after `--`, never where
 * helm could read it as an option; values files must stay inside the repository.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join, normalize, relative, sep } from 'node:path';

import type * as YamlModule from 'yaml';

import { ErrorCodes, GitOpsError, isPlainObject, lazyModule } from '../runtime/index.js';
import type { KubeObject } from '../runtime/index.js';

// Loaded on first use: `import 'libgitops'` does not pay for the yaml package.
const yaml = lazyModule<typeof YamlModule>('yaml');
import { Decoder } from '../serializer/index.js';
import { helmBinary, runHelm } from './helm-command.js';

export interface HelmParameter {
  /** A Helm `--set` path, e.g. `image.tag` or `servers[0].port`. */
  name: string;
  value: string;
  /** `--set-string` instead of `--set`: the value stays a string. */
  forceString?: boolean;
}

/** What an application says about its chart (all optional). */
export interface HelmSource {
  /** Release name; the application's name by default. */
  releaseName?: string;
  /** Values files, relative to the chart's folder; they must stay inside the repository. */
  valueFiles?: string[];
  /** Inline values: a YAML text or an object; they win over the values files. */
  values?: string | Record<string, unknown>;
  /** Single values (`--set`); they win over everything else. */
  parameters?: HelmParameter[];
  /** Skip values files a chart does not have (Argo CD's option; for applications of several charts). */
  ignoreMissingValueFiles?: boolean;
  /** Render the chart's `crds/` too (default true, as Argo CD and Flux do). */
  includeCRDs?: boolean;
}

/** The destination cluster, so that `.Capabilities` is right. */
export interface HelmCapabilities {
  kubeVersion?: string;
  apiVersions?: readonly string[];
}

/** A chart repository dependencies may come from, with its credentials (never logged). */
export interface ChartRepository {
  /** URL prefix the dependency's `repository` must start with. */
  url: string;
  username?: string;
  password?: string;
  /** PEM of the CA that signs the repository's certificate. */
  caData?: string;
}

export interface RenderChartRequest {
  /** Folder holding the repository as checked out. */
  root: string;
  /** The chart's folder, relative to `root` (`''` for the root). */
  chartPath: string;
  releaseName: string;
  namespace: string;
  source?: HelmSource;
  capabilities?: HelmCapabilities;
  repositories?: readonly ChartRepository[];
  signal?: AbortSignal;
}

export interface HelmRendererOptions {
  /** The helm binary (else LIBGITOPS_HELM, else `helm` on PATH). */
  helm?: string;
  /** Longest time one helm command may take; 90 s by default. */
  timeoutMs?: number;
}

interface ChartDependency {
  name: string;
  repository: string;
}

const RELEASE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const NAMESPACE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const SET_PATH = /^[A-Za-z0-9_$][A-Za-z0-9_.\-[\]\\/$]*$/;
const KUBE_VERSION = /^v?\d+\.\d+(\.\d+)?([-+][0-9A-Za-z.+-]*)?$/;
const API_VERSION = /^[A-Za-z0-9][A-Za-z0-9.-]*(\/[A-Za-z0-9][A-Za-z0-9.-]*){0,2}$/;

export class HelmRenderer {
  readonly helm: string;
  readonly timeoutMs: number;
  /** Runs of `helm template` (for tests and benchmarks: cache misses). */
  templateRuns = 0;
  /** Runs of `helm dependency build`. */
  dependencyRuns = 0;
  private readonly decoder = new Decoder({ strict: false, unknownKinds: 'unstructured' });

  constructor(options: HelmRendererOptions = {}) {
    this.helm = helmBinary(options.helm);
    this.timeoutMs = options.timeoutMs ?? 90_000;
  }

  /** The objects the chart renders to, in helm's order; RenderFailed with helm's message and file. */
  async render(request: RenderChartRequest): Promise<KubeObject[]> {
    const chartDir = insideRoot(request.root, request.chartPath, request.chartPath, '.spec.source.paths');
    const args = await this.templateArgs(request, chartDir);
    const home = await mkdtemp(join(tmpdir(), 'libgitops-helm-'));
    try {
      const chartName = await this.ensureDependencies(request, chartDir, home);
      const inline = request.source?.values;
      if (inline !== undefined) {
        const text = typeof inline === 'string' ? inline : JSON.stringify(inline);
        const file = join(home, 'inline-values.yaml');
        await writeFile(file, text, { mode: 0o600 });
        // After the files: inline values win over them, as in Argo CD.
        args.splice(args.indexOf('--'), 0, `--values=${file}`);
      }
      this.templateRuns++;
      const manifest = await runHelm(this.helm, args, {
        home,
        timeoutMs: this.timeoutMs,
        ...(request.signal === undefined ? {} : { signal: request.signal }),
      }).catch((err: unknown) => {
        throw renderError(err, request.chartPath, chartName);
      });
      return this.decode(manifest, request.chartPath, chartName);
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  }

  /** `helm template` alone, for benchmarks: same arguments, no cache, no decoding. */
  async template(request: RenderChartRequest): Promise<string> {
    const chartDir = insideRoot(request.root, request.chartPath, request.chartPath, '.spec.source.paths');
    const args = await this.templateArgs(request, chartDir);
    const home = await mkdtemp(join(tmpdir(), 'libgitops-helm-'));
    try {
      return await runHelm(this.helm, args, { home, timeoutMs: this.timeoutMs });
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  }

  private async templateArgs(request: RenderChartRequest, chartDir: string): Promise<string[]> {
    const { releaseName, namespace } = request;
    if (releaseName.length > 53 || !RELEASE_NAME.test(releaseName)) {
      throw invalid(
        `Helm release name ${JSON.stringify(releaseName)} must be at most 53 lower-case letters, digits, "-" or "."`,
        '.spec.source.helm.releaseName',
      );
    }
    if (!NAMESPACE.test(namespace)) {
      throw invalid(
        `namespace ${JSON.stringify(namespace)} is not a valid name`,
        '.spec.destination.namespace',
      );
    }
    const source = request.source ?? {};
    const args = ['template', `--namespace=${namespace}`];
    for (const [i, file] of (source.valueFiles ?? []).entries()) {
      const field = `.spec.source.helm.valueFiles[${i}]`;
      if (/^[a-z][a-z0-9+.-]*:\/\//i.test(file)) {
        throw invalid(
          `values file ${JSON.stringify(file)}: only files of the repository are supported`,
          field,
        );
      }
      const path = insideRoot(
        request.root,
        isAbsolute(file) ? file : join(request.chartPath, file),
        file,
        field,
      );
      // A link in the repository must not lead helm to a file outside it.
      const real = await realpath(path).catch(() => undefined);
      if (real === undefined) {
        if (source.ignoreMissingValueFiles) continue;
        throw new GitOpsError(
          ErrorCodes.NotFound,
          `values file ${JSON.stringify(file)} does not exist in the chart's repository`,
          { details: { field, file: join(request.chartPath, file) } },
        );
      }
      insideRoot(await realpath(request.root), relative(await realpath(request.root), real), file, field);
      args.push(`--values=${real}`);
    }
    for (const [i, p] of (source.parameters ?? []).entries()) {
      if (!SET_PATH.test(p.name)) {
        throw invalid(
          `Helm parameter name ${JSON.stringify(p.name)} must be a value path such as image.tag or list[0].name`,
          `.spec.source.helm.parameters[${i}].name`,
        );
      }
      const value = String(p.value).replace(/\\/g, '\\\\').replace(/,/g, '\\,');
      args.push(`${p.forceString ? '--set-string' : '--set'}=${p.name}=${value}`);
    }
    if (source.includeCRDs ?? true) args.push('--include-crds');
    const caps = request.capabilities ?? {};
    if (caps.kubeVersion !== undefined) {
      if (!KUBE_VERSION.test(caps.kubeVersion))
        throw invalid(
          `Kubernetes version ${JSON.stringify(caps.kubeVersion)} is not a version`,
          'kubeVersion',
        );
      args.push(`--kube-version=${caps.kubeVersion}`);
    }
    for (const v of caps.apiVersions ?? []) {
      if (!API_VERSION.test(v))
        throw invalid(`API version ${JSON.stringify(v)} is not group/version[/Kind]`, 'apiVersions');
      args.push(`--api-versions=${v}`);
    }
    args.push('--', releaseName, chartDir);
    return args;
  }

  /** Runs `helm dependency build` when Chart.yaml names dependencies that `charts/` lacks; returns the chart's name. */
  private async ensureDependencies(
    request: RenderChartRequest,
    chartDir: string,
    home: string,
  ): Promise<string> {
    const chartFile = join(request.chartPath, 'Chart.yaml');
    let chart: unknown;
    try {
      chart = yaml().parse(await readFile(join(chartDir, 'Chart.yaml'), 'utf8'));
    } catch (err) {
      throw new GitOpsError(
        ErrorCodes.RenderFailed,
        `${chartFile}: ${err instanceof Error ? err.message : String(err)}`,
        {
          cause: err,
          details: { file: chartFile },
        },
      );
    }
    const name = isPlainObject(chart) && typeof chart.name === 'string' ? chart.name : '';
    let deps = dependenciesOf(chart);
    if (deps.length === 0) {
      const requirements = await readFile(join(chartDir, 'requirements.yaml'), 'utf8').catch(() => undefined);
      if (requirements !== undefined) deps = dependenciesOf(yaml().parse(requirements));
    }
    const vendored = await readdir(join(chartDir, 'charts')).catch(() => [] as string[]);
    const missing = deps.filter(
      (d) =>
        !vendored.some(
          (entry) => entry === d.name || (entry.startsWith(`${d.name}-`) && entry.endsWith('.tgz')),
        ),
    );
    if (missing.length === 0) return name;
    const repositories: string[] = [];
    for (const dep of missing) {
      if (!/^https?:\/\//i.test(dep.repository)) continue;
      const found = (request.repositories ?? []).find((r) =>
        dep.repository.startsWith(r.url.replace(/\/+$/, '')),
      );
      const entry: Record<string, unknown> = {
        name: `repo-${createHash('sha256').update(dep.repository).digest('hex').slice(0, 12)}`,
        url: dep.repository,
      };
      if (found?.username !== undefined) entry.username = found.username;
      if (found?.password !== undefined) entry.password = found.password;
      if (found?.caData !== undefined) {
        const caFile = join(home, `${String(entry.name)}-ca.crt`);
        await writeFile(caFile, found.caData, { mode: 0o600 });
        entry.caFile = caFile;
      }
      repositories.push(JSON.stringify(entry));
    }
    const repoConfig = join(home, 'repositories.yaml');
    await mkdir(join(home, 'cache', 'repository'), { recursive: true });
    await writeFile(
      repoConfig,
      `apiVersion: ""\ngenerated: "0001-01-01T00:00:00Z"\nrepositories: [${[...new Set(repositories)].join(',')}]\n`,
      { mode: 0o600 },
    );
    this.dependencyRuns++;
    await runHelm(
      this.helm,
      [
        'dependency',
        'build',
        `--repository-config=${repoConfig}`,
        `--repository-cache=${join(home, 'cache', 'repository')}`,
        '--',
        chartDir,
      ],
      {
        home,
        timeoutMs: this.timeoutMs,
        ...(request.signal === undefined ? {} : { signal: request.signal }),
      },
    ).catch((err: unknown) => {
      throw renderError(err, request.chartPath, name, chartFile);
    });
    return name;
  }

  private decode(manifest: string, chartPath: string, chartName: string): KubeObject[] {
    const objects: KubeObject[] = [];
    for (const doc of manifest.split(/^---[ \t]*$/m)) {
      if (doc.trim() === '') continue;
      const source = /^# Source: (.+)$/m.exec(doc)?.[1]?.trim();
      const file =
        source === undefined ? join(chartPath, 'Chart.yaml') : repoFile(chartPath, chartName, source);
      const result = this.decoder.decodeText(doc, { file });
      const first = result.errors[0];
      if (first !== undefined) {
        throw new GitOpsError(
          ErrorCodes.RenderFailed,
          `${file}: the chart rendered bad YAML: ${first.message}`,
          {
            cause: first,
            details: { file },
          },
        );
      }
      objects.push(...result.objects);
    }
    return objects;
  }
}

function dependenciesOf(doc: unknown): ChartDependency[] {
  if (!isPlainObject(doc) || !Array.isArray(doc.dependencies)) return [];
  return doc.dependencies.flatMap((d: unknown) =>
    isPlainObject(d) && typeof d.name === 'string'
      ? [{ name: d.name, repository: typeof d.repository === 'string' ? d.repository : '' }]
      : [],
  );
}

/** `mychart/templates/x.yaml` (helm's name) as the repository path `<chartPath>/templates/x.yaml`. */
function repoFile(chartPath: string, chartName: string, source: string): string {
  const rest =
    chartName !== '' && source.startsWith(`${chartName}/`) ? source.slice(chartName.length + 1) : source;
  return chartPath === '' ? rest : `${chartPath}/${rest}`;
}

/** RenderFailed with helm's message, and the file (and line) it names as a repository path. */
function renderError(err: unknown, chartPath: string, chartName: string, fallbackFile?: string): GitOpsError {
  if (!(err instanceof GitOpsError) || err.code !== ErrorCodes.RenderFailed) {
    return err instanceof GitOpsError
      ? err
      : new GitOpsError(ErrorCodes.RenderFailed, String(err), { cause: err });
  }
  const named =
    /([\w.-]+(?:\/charts\/[\w.-]+)*\/(?:templates\/[^\s:()"]+|Chart\.yaml|values\.yaml))(?::(\d+)(?::(\d+))?)?/.exec(
      err.message,
    );
  const file = named?.[1] === undefined ? fallbackFile : repoFile(chartPath, chartName, named[1]);
  const where = file === undefined ? '' : ` (${file}${named?.[2] === undefined ? '' : `:${named[2]}`})`;
  return new GitOpsError(
    ErrorCodes.RenderFailed,
    `helm could not render ${chartPath || '.'}${where}: ${err.message}`,
    {
      cause: err.cause,
      details: {
        ...(file === undefined ? {} : { file }),
        ...(named?.[2] === undefined ? {} : { line: Number(named[2]) }),
        ...(named?.[3] === undefined ? {} : { column: Number(named[3]) }),
      },
    },
  );
}

/** The absolute path of `path` (relative to root), refusing any that leaves root. */
function insideRoot(root: string, path: string, shown: string, field: string): string {
  const clean = normalize(path);
  if (isAbsolute(path) || clean === '..' || clean.startsWith(`..${sep}`)) {
    throw new GitOpsError(ErrorCodes.PathEscape, `${JSON.stringify(shown)} must stay inside the repository`, {
      details: { field },
    });
  }
  return join(root, clean);
}

function invalid(message: string, field: string): GitOpsError {
  return new GitOpsError(ErrorCodes.Invalid, message, { details: { field } });
}
