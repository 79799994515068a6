/**
 * Rendering: the objects one path of a Git revision stands for. A plain folder is every
 * `.yaml/.yml/.json` file under it (recursively, many documents per file); a folder with a
 * kustomization goes through `kubectl kustomize`. Reads come from git objects (no checkout),
 * and results are cached by tree id, so an unchanged path is never rendered twice and a changed
 * one decodes only its changed files.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstat, mkdtemp, readdir, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve, sep } from 'node:path';

import type { Git } from '../git/index.js';
import { normalizeRepoPath } from '../git/index.js';
import { HelmRenderer } from '../helm/index.js';
import type { ChartRepository, HelmCapabilities, HelmParameter, HelmSource } from '../helm/index.js';
import { ErrorCodes, GitOpsError, mapLimit } from '../runtime/index.js';
import type { KubeObject } from '../runtime/index.js';
import { Decoder } from '../serializer/index.js';
import type { Application } from './application.js';
import { RenderCache } from './render-cache.js';

const MANIFEST = /\.(ya?ml|json)$/i;
const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];
const BLOB_READS_IN_FLIGHT = 64;

export interface RenderedPath {
  path: string;
  kind: 'directory' | 'kustomize' | 'helm';
  /** The cache key: the path's tree id (kustomize: also the root tree when it reaches outside). */
  key: string;
  objects: readonly KubeObject[];
  cached: boolean;
}

export interface RendererOptions {
  cache?: RenderCache;
  /** The kubectl binary; `kubectl` on PATH by default. */
  kubectl?: string;
  /** Longest time one `kubectl kustomize` may take; 60 s by default. */
  kustomizeTimeoutMs?: number;
  /** Renders Helm charts; one with the default helm binary (LIBGITOPS_HELM, else PATH) by default. */
  helm?: HelmRenderer;
}

/** What a chart needs from its application; a folder without Chart.yaml ignores it. */
export interface RenderContext {
  /** The Helm release name unless `helm.releaseName` says otherwise. */
  application: string;
  /** The destination namespace (the release's). */
  namespace: string;
  helm?: HelmSource;
  /** The destination's version and API versions, asked for only when a chart is rendered. */
  capabilities?: () => Promise<HelmCapabilities>;
  repositories?: readonly ChartRepository[];
}

export class Renderer {
  readonly cache: RenderCache;
  /** How many times `kubectl kustomize` ran (cache misses of kustomize paths). */
  kustomizeRuns = 0;
  readonly helm: HelmRenderer;
  private readonly kubectl: string;
  private readonly kustomizeTimeoutMs: number;
  private readonly decoder = new Decoder({ strict: false, unknownKinds: 'unstructured' });

  constructor(options: RendererOptions = {}) {
    this.cache = options.cache ?? new RenderCache();
    this.kubectl = options.kubectl ?? 'kubectl';
    this.kustomizeTimeoutMs = options.kustomizeTimeoutMs ?? 60_000;
    this.helm = options.helm ?? new HelmRenderer();
  }

  /** Renders every path at `revision`; objects keep the order of paths, then of files. */
  async renderAll(
    git: Git,
    revision: string,
    paths: readonly string[],
    signal?: AbortSignal,
    context?: RenderContext,
  ): Promise<RenderedPath[]> {
    const rendered: RenderedPath[] = [];
    for (const path of paths) rendered.push(await this.render(git, revision, path, signal, context));
    return rendered;
  }

  async render(
    git: Git,
    revision: string,
    path: string,
    signal?: AbortSignal,
    context?: RenderContext,
  ): Promise<RenderedPath> {
    const base = normalizeRepoPath(path === '.' ? '' : path);
    const tree = await git.readObject(`${revision}:${base}`);
    if (tree === undefined || tree.type !== 'tree') {
      throw new GitOpsError(ErrorCodes.NotFound, `path "${path}" is not a folder at revision ${revision}`, {
        details: { file: path, revision },
      });
    }
    const top = await git.readTree(revision, base, { recursive: false });
    const chart = top.find((e) => e.type === 'blob' && leaf(e.path) === 'Chart.yaml');
    if (chart !== undefined)
      return this.renderChart(git, revision, path, base, tree.oid, chart.oid, signal, context);
    const kustomization = top.find((e) => e.type === 'blob' && KUSTOMIZATION_FILES.includes(leaf(e.path)));
    if (kustomization !== undefined) {
      const text = (await git.readBlob(revision, kustomization.path)).toString('utf8');
      // A kustomization that reaches outside its folder depends on more than its own tree.
      const reachesOut = /(^|[\s'"])\.\.\//m.test(text);
      const rootTree = reachesOut ? (await git.readObject(`${revision}:`))?.oid : undefined;
      const key = `kustomize:${tree.oid}${rootTree === undefined ? '' : `:${rootTree}`}`;
      const hit = this.cache.tree(key);
      if (hit !== undefined) return { path, kind: 'kustomize', key, objects: hit, cached: true };
      const objects = await this.kustomize(git, revision, base, signal);
      this.cache.setTree(key, objects);
      return { path, kind: 'kustomize', key, objects, cached: false };
    }
    const key = `dir:${tree.oid}`;
    const hit = this.cache.tree(key);
    if (hit !== undefined) return { path, kind: 'directory', key, objects: hit, cached: true };
    const files = (await git.readTree(revision, base)).filter(
      (e) => e.type === 'blob' && MANIFEST.test(e.path),
    );
    files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    // A bounded number of reads in flight (cat-file answers in order, so a few keep it busy): a
    // folder of 10,000 files no longer has 10,000 pending reads, requests and buffers at once.
    const perFile = await mapLimit(files, BLOB_READS_IN_FLIGHT, async (entry) => {
      const known = this.cache.blob(entry.oid);
      if (known !== undefined) return known;
      const blob = await git.readObject(entry.oid);
      if (blob === undefined) {
        throw new GitOpsError(ErrorCodes.GitError, `blob ${entry.oid} of ${entry.path} is missing`, {
          details: { file: entry.path },
        });
      }
      const objects = this.decode(blob.content.toString('utf8'), entry.path);
      this.cache.setBlob(entry.oid, objects);
      return objects;
    });
    const objects = perFile.flat();
    this.cache.setTree(key, objects);
    return { path, kind: 'directory', key, objects, cached: false };
  }

  /**
   * A chart, found by its Chart.yaml as Argo CD finds it. Cached by (tree id, chart, values,
   * capabilities): the same inputs render the same objects. A chart that reaches outside its
   * folder (`file://..` dependencies, values files above it) is keyed by the root tree too.
   */
  private async renderChart(
    git: Git,
    revision: string,
    path: string,
    base: string,
    treeOid: string,
    chartOid: string,
    signal: AbortSignal | undefined,
    context: RenderContext | undefined,
  ): Promise<RenderedPath> {
    const ctx = context ?? { application: 'release', namespace: 'default' };
    const chartText = (await git.readObject(chartOid))?.content.toString('utf8') ?? '';
    const reachesOut =
      /file:\/\/\.\./.test(chartText) ||
      (ctx.helm?.valueFiles ?? []).some((f) => f.split('/').includes('..'));
    const rootTree = reachesOut ? (await git.readObject(`${revision}:`))?.oid : undefined;
    const capabilities = ctx.capabilities === undefined ? {} : await ctx.capabilities();
    const settings = createHash('sha256')
      .update(
        JSON.stringify([
          ctx.helm?.releaseName ?? ctx.application,
          ctx.namespace,
          ctx.helm ?? {},
          capabilities,
          (ctx.repositories ?? []).map((r) => r.url),
        ]),
      )
      .digest('hex')
      .slice(0, 24);
    const key = `helm:${treeOid}${rootTree === undefined ? '' : `:${rootTree}`}:${settings}`;
    const hit = this.cache.tree(key);
    if (hit !== undefined) return { path, kind: 'helm', key, objects: hit, cached: true };
    const dir = await this.checkout(git, revision, signal);
    try {
      const objects = await this.helm.render({
        root: dir,
        chartPath: base,
        releaseName: ctx.helm?.releaseName ?? ctx.application,
        namespace: ctx.namespace,
        ...(ctx.helm === undefined ? {} : { source: ctx.helm }),
        capabilities,
        ...(ctx.repositories === undefined ? {} : { repositories: ctx.repositories }),
        ...(signal === undefined ? {} : { signal }),
      });
      this.cache.setTree(key, objects);
      return { path, kind: 'helm', key, objects, cached: false };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** The revision written out to a private folder, without links that lead outside it. */
  private async checkout(git: Git, revision: string, signal?: AbortSignal): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'libgitops-render-'));
    try {
      const { stdout: archive } = await git.run(['archive', '--format=tar', revision], { signal });
      await run('tar', ['-x', '-C', dir], archive, 60_000, signal);
      await dropEscapingLinks(await realpath(dir));
      return dir;
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
  }

  private decode(text: string, file: string): KubeObject[] {
    const result = this.decoder.decodeText(text, { file });
    const first = result.errors[0];
    if (first !== undefined) {
      throw new GitOpsError(first.code, `${file}: ${first.message}`, {
        details: { ...first.details, file },
        cause: first,
        causes: result.errors,
      });
    }
    return result.objects;
  }

  /** Writes the revision out (kustomize needs files, and may read bases beside the folder) and runs kustomize. */
  private async kustomize(
    git: Git,
    revision: string,
    base: string,
    signal?: AbortSignal,
  ): Promise<KubeObject[]> {
    const dir = await mkdtemp(join(tmpdir(), 'libgitops-render-'));
    try {
      const { stdout: archive } = await git.run(['archive', '--format=tar', revision], { signal });
      await run('tar', ['-x', '-C', dir], archive, 60_000, signal);
      const target = base === '' ? dir : join(dir, base);
      this.kustomizeRuns++;
      const output = await run(
        this.kubectl,
        ['kustomize', '--', target],
        undefined,
        this.kustomizeTimeoutMs,
        signal,
      );
      return this.decode(output.toString('utf8'), `${base || '.'}/kustomization.yaml`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}

/**
 * What rendering needs from an application: its name and namespace (Helm's release and
 * namespace), its Helm settings, the destination's capabilities (asked for only when a chart is
 * rendered), and its chart repositories with their credentials.
 */
export function renderContextOf(
  app: Application,
  options: {
    capabilities?: (app: Application, signal?: AbortSignal) => Promise<HelmCapabilities>;
    repositories?: readonly ChartRepository[];
    signal?: AbortSignal;
    /** `--values` / `--set` given on the command line, after the application's own. */
    extraValueFiles?: readonly string[];
    extraParameters?: readonly HelmParameter[];
  } = {},
): RenderContext {
  const spec = app.spec.source.helm;
  const helm: HelmSource = {
    valueFiles: [...(spec?.valueFiles ?? []), ...(options.extraValueFiles ?? [])],
    parameters: [...(spec?.parameters ?? []), ...(options.extraParameters ?? [])],
    includeCRDs: spec?.includeCRDs ?? true,
  };
  if (spec?.releaseName !== undefined) helm.releaseName = spec.releaseName;
  if (spec?.ignoreMissingValueFiles !== undefined)
    helm.ignoreMissingValueFiles = spec.ignoreMissingValueFiles;
  if (spec?.valuesObject !== undefined) helm.values = spec.valuesObject;
  else if (spec?.values !== undefined) helm.values = spec.values;
  const capabilities = options.capabilities;
  return {
    application: app.metadata.name,
    namespace: app.spec.destination.namespace,
    helm,
    ...(capabilities === undefined ? {} : { capabilities: () => capabilities(app, options.signal) }),
    ...(options.repositories === undefined ? {} : { repositories: options.repositories }),
  };
}

/** Removes symbolic links whose target is outside `root`, so no tool reads the host's files through them. */
async function dropEscapingLinks(root: string, dir = root): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isSymbolicLink()) {
      const target = await realpath(full).catch(() => undefined);
      const rel = target === undefined ? '' : relative(root, target);
      if (target === undefined || rel === '..' || rel.startsWith(`..${sep}`) || resolve(root, rel) !== target)
        await rm(full, { force: true });
    } else if (entry.isDirectory() && !(await lstat(full)).isSymbolicLink()) {
      await dropEscapingLinks(root, full);
    }
  }
}

function leaf(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

function run(
  file: string,
  args: string[],
  input: Buffer | undefined,
  timeout: number,
  signal?: AbortSignal,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      { encoding: 'buffer', maxBuffer: 512 * 1024 * 1024, timeout, signal },
      (error, stdout, stderr) => {
        if (error) {
          reject(
            new GitOpsError(
              ErrorCodes.InternalError,
              `${file} ${args[0]} failed: ${stderr.toString('utf8').trim() || error.message}`,
              { cause: error, details: { command: file } },
            ),
          );
        } else resolve(stdout);
      },
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}
