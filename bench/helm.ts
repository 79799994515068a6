/**
 * Helm render time per application: our render of a chart folder from a Git revision, cold (a
 * new renderer: git archive, helm template, decode) and cached (same tree, same settings), next to
 * `helm template` alone on the same chart in the same run, as ratios. No target: helm's own
 * process start is the floor of a cold render; the cache is what keeps repeated syncs cheap.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { Git } from '../src/git/index.js';
import { HelmRenderer } from '../src/helm/index.js';
import { Renderer } from '../src/operator/index.js';
import type { RenderContext } from '../src/operator/index.js';
import { plainChart, writeFiles } from '../test/helm/fixtures.js';
import { ensureHelm } from '../test/support/helm/build.js';
import type { BenchContext } from './harness.js';

const exec = promisify(execFile);
const RUNS = 9;

export async function run(context: BenchContext): Promise<void> {
  const helmPath = await ensureHelm();
  const dir = await mkdtemp(join(tmpdir(), 'libgitops-bench-helm-'));
  // Its `git cat-file --batch` reader keeps the process alive until closed.
  let repo: Git | undefined;
  try {
    await writeFiles(join(dir, 'repo/app'), plainChart('app'));
    const git = (...args: string[]) =>
      exec('git', ['-c', 'user.name=bench', '-c', 'user.email=bench@example.com', ...args], {
        cwd: join(dir, 'repo'),
      });
    await git('init', '-q', '-b', 'main');
    await git('add', '-A');
    await git('commit', '-q', '-m', 'chart');
    repo = await Git.open(join(dir, 'repo'));
    const revision = (await git('rev-parse', 'HEAD')).stdout.trim();
    const capabilities = { kubeVersion: 'v1.32.13', apiVersions: ['v1', 'apps/v1', 'batch/v1'] };
    const ctx: RenderContext = {
      application: 'bench',
      namespace: 'default',
      helm: { valueFiles: ['values-prod.yaml'], parameters: [{ name: 'size', value: '3' }] },
      capabilities: () => Promise.resolve(capabilities),
    };
    const helm = new HelmRenderer({ helm: helmPath });
    const warm = new Renderer({ helm });
    const request = {
      root: join(dir, 'repo'),
      chartPath: 'app',
      releaseName: 'bench',
      namespace: 'default',
      source: ctx.helm!,
      capabilities,
    };
    const ops: Record<string, () => Promise<unknown>> = {
      'helm template alone': () => helm.template(request),
      'render, cold': () => new Renderer({ helm }).render(repo!, revision, 'app', undefined, ctx),
      'render, cached': () => warm.render(repo!, revision, 'app', undefined, ctx),
    };
    const samples: Record<string, number[]> = Object.fromEntries(Object.keys(ops).map((k) => [k, []]));
    for (const op of Object.values(ops)) await op();
    // In turns, so load from other processes hits all three alike.
    for (let i = 0; i < RUNS; i++) {
      for (const [name, op] of Object.entries(ops)) {
        const t0 = performance.now();
        await op();
        samples[name]!.push(performance.now() - t0);
      }
    }
    const median = (name: string): number => {
      const sorted = [...samples[name]!].sort((a, b) => a - b);
      return sorted[Math.floor(sorted.length / 2)]!;
    };
    const base = median('helm template alone');
    for (const name of Object.keys(ops)) {
      const m = median(name);
      context.log(
        `${name.padEnd(20)} median ${m.toFixed(2)} ms over ${RUNS} runs  (${(m / base).toFixed(3)}x helm template)`,
      );
    }
    if (warm.cache.stats.treeHits < RUNS) context.fail('the cached render did not come from the cache');
  } finally {
    await repo?.close();
    await rm(dir, { recursive: true, force: true });
  }
}
