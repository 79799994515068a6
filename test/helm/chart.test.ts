import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { HelmRenderer } from '../../src/helm/index.js';
import { ErrorCodes, GitOpsError } from '../../src/runtime/index.js';
import type { KubeObject } from '../../src/runtime/index.js';
import { ensureHelm } from '../support/helm/build.js';
import { startChartRepo } from '../support/helm/chart-repo.js';
import type { ChartRepoServer } from '../support/helm/chart-repo.js';
import { hookChart, plainChart, repositoryChart, subChart, vendoredChart, writeFiles } from './fixtures.js';

const SLOW = 120_000;
let helm: HelmRenderer;
let root: string;

beforeAll(async () => {
  helm = new HelmRenderer({ helm: await ensureHelm() });
  root = await mkdtemp(join(tmpdir(), 'libgitops-helm-test-'));
}, 60 * 60_000);

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

const data = (objects: KubeObject[], name: string) =>
  objects.find((o) => o.metadata?.name === name)?.data as Record<string, string> | undefined;

async function failure(p: Promise<unknown>): Promise<GitOpsError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(GitOpsError);
  return err as GitOpsError;
}

describe('HelmRenderer', () => {
  it(
    'renders with release name, namespace, values files, inline values, parameters and capabilities',
    async () => {
      await writeFiles(join(root, 'apps/plain'), plainChart());
      const objects = await helm.render({
        root,
        chartPath: 'apps/plain',
        releaseName: 'shop',
        namespace: 'team-a',
        source: {
          valueFiles: ['values-prod.yaml'],
          values: { greeting: 'inline', size: 2 },
          parameters: [
            { name: 'size', value: '3' },
            { name: 'greeting', value: 'a,b', forceString: true },
          ],
        },
        capabilities: { kubeVersion: 'v1.32.13', apiVersions: ['batch/v1', 'batch/v1/Job'] },
      });
      expect(objects).toHaveLength(1);
      expect(objects[0]!.metadata?.name).toBe('shop-plain');
      expect(data(objects, 'shop-plain')).toEqual({
        release: 'shop',
        namespace: 'team-a',
        greeting: 'a,b',
        colour: 'red',
        size: '3',
        kube: 'v1.32.13',
        hasJobs: 'true',
        hasWidgets: 'false',
      });
      expect(
        data(
          await helm.render({
            root,
            chartPath: 'apps/plain',
            releaseName: 'shop',
            namespace: 'n',
            source: { values: 'size: 9\n' },
          }),
          'shop-plain',
        )?.size,
      ).toBe('9');
    },
    SLOW,
  );

  it(
    'renders a dependency vendored in charts/, with values passed down',
    async () => {
      await writeFiles(join(root, 'vendored'), vendoredChart());
      const objects = await helm.render({ root, chartPath: 'vendored', releaseName: 'r', namespace: 'n' });
      expect(data(objects, 'r-child')).toEqual({ greeting: 'from-parent' });
      expect(helm.dependencyRuns).toBe(0);
    },
    SLOW,
  );

  it(
    'fetches a dependency from a chart repository with basic auth, and over HTTPS with a CA',
    async () => {
      const chartDir = join(root, 'remote-src');
      await writeFiles(chartDir, subChart('remote', 'from-repo'));
      const repos: ChartRepoServer[] = [];
      try {
        const plain = await startChartRepo({
          charts: [chartDir],
          auth: { username: 'helm', password: 's3cret' },
        });
        repos.push(plain);
        await writeFiles(join(root, 'fetching'), repositoryChart(plain.url));
        const objects = await helm.render({
          root,
          chartPath: 'fetching',
          releaseName: 'r',
          namespace: 'n',
          repositories: [{ url: plain.url, username: 'helm', password: 's3cret' }],
        });
        expect(data(objects, 'r-remote')).toEqual({ greeting: 'from-repo' });
        expect(objects.map((o) => o.metadata?.name).sort()).toEqual(['r-own', 'r-remote']);
        expect(plain.requests.filter((r) => r.status === 200).map((r) => r.path)).toEqual(
          expect.arrayContaining(['/index.yaml', '/remote-0.1.0.tgz']),
        );

        // A fresh folder: the first render left the fetched chart in fetching/charts/.
        await writeFiles(join(root, 'fetching-wrong'), repositoryChart(plain.url));
        const wrong = await failure(
          helm.render({
            root,
            chartPath: 'fetching-wrong',
            releaseName: 'r',
            namespace: 'n',
            repositories: [{ url: plain.url, username: 'helm', password: 'not-it-42' }],
          }),
        );
        expect(wrong.code).toBe(ErrorCodes.RenderFailed);
        expect(wrong.message).not.toContain('not-it-42');
        expect(wrong.message).toMatch(/401/);
        expect(wrong.details.file).toBe('fetching-wrong/Chart.yaml');

        const tls = await startChartRepo({ charts: [chartDir], tls: true });
        repos.push(tls);
        await writeFiles(join(root, 'fetching-tls'), repositoryChart(tls.url));
        const untrusted = await failure(
          helm.render({ root, chartPath: 'fetching-tls', releaseName: 'r', namespace: 'n' }),
        );
        expect(untrusted.code).toBe(ErrorCodes.RenderFailed);
        expect(untrusted.message).toMatch(/certificate/);
        const trusted = await helm.render({
          root,
          chartPath: 'fetching-tls',
          releaseName: 'r',
          namespace: 'n',
          repositories: [{ url: tls.url, caData: tls.caPem! }],
        });
        expect(data(trusted, 'r-remote')).toEqual({ greeting: 'from-repo' });
      } finally {
        for (const r of repos) await r.close();
      }
    },
    SLOW,
  );

  it(
    'includes crds/ unless told not to, and keeps Helm hook annotations',
    async () => {
      await writeFiles(join(root, 'hooked'), hookChart('example.com'));
      const objects = await helm.render({ root, chartPath: 'hooked', releaseName: 'h', namespace: 'n' });
      expect(objects[0]!.kind).toBe('CustomResourceDefinition');
      expect(objects.find((o) => o.metadata?.name === 'h-pre')?.metadata?.annotations?.['helm.sh/hook']).toBe(
        'pre-install,pre-upgrade',
      );
      const without = await helm.render({
        root,
        chartPath: 'hooked',
        releaseName: 'h',
        namespace: 'n',
        source: { includeCRDs: false },
      });
      expect(without.some((o) => o.kind === 'CustomResourceDefinition')).toBe(false);
    },
    SLOW,
  );

  it(
    'a template error is RenderFailed with helm message, the file and line',
    async () => {
      await writeFiles(join(root, 'broken'), {
        'Chart.yaml': 'apiVersion: v2\nname: broken\nversion: 0.1.0\n',
        'templates/ok.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n',
        'templates/bad.yaml':
          'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Values.missing.deeper }}\n',
      });
      const err = await failure(helm.render({ root, chartPath: 'broken', releaseName: 'r', namespace: 'n' }));
      expect(err.code).toBe(ErrorCodes.RenderFailed);
      expect(err.details.file).toBe('broken/templates/bad.yaml');
      expect(err.details.line).toBe(4);
      expect(err.message).toMatch(/nil pointer|missing/);
    },
    SLOW,
  );

  it(
    'refuses input that could reach helm as an option or leave the repository, running nothing',
    async () => {
      await writeFiles(join(root, 'apps/plain'), plainChart());
      const before = helm.templateRuns;
      const base = { root, chartPath: 'apps/plain', releaseName: 'r', namespace: 'n' };
      expect((await failure(helm.render({ ...base, releaseName: '--debug' }))).code).toBe(ErrorCodes.Invalid);
      expect((await failure(helm.render({ ...base, namespace: '-n' }))).code).toBe(ErrorCodes.Invalid);
      const param = await failure(
        helm.render({ ...base, source: { parameters: [{ name: '--post-renderer', value: 'x' }] } }),
      );
      expect(param.code).toBe(ErrorCodes.Invalid);
      expect(param.details.field).toBe('.spec.source.helm.parameters[0].name');
      expect(
        (await failure(helm.render({ ...base, source: { valueFiles: ['../../../etc/passwd'] } }))).code,
      ).toBe(ErrorCodes.PathEscape);
      expect((await failure(helm.render({ ...base, source: { valueFiles: ['/etc/passwd'] } }))).code).toBe(
        ErrorCodes.PathEscape,
      );
      await symlink('/etc/hostname', join(root, 'apps/plain/leak.yaml'));
      expect((await failure(helm.render({ ...base, source: { valueFiles: ['leak.yaml'] } }))).code).toBe(
        ErrorCodes.PathEscape,
      );
      expect((await failure(helm.render({ ...base, capabilities: { kubeVersion: '--x' } }))).code).toBe(
        ErrorCodes.Invalid,
      );
      expect(helm.templateRuns).toBe(before);
    },
    SLOW,
  );

  it('says how to fix a missing helm binary', async () => {
    await writeFiles(join(root, 'apps/plain'), plainChart());
    const missing = new HelmRenderer({ helm: join(root, 'no-such-helm') });
    const err = await failure(
      missing.render({ root, chartPath: 'apps/plain', releaseName: 'r', namespace: 'n' }),
    );
    expect(err.code).toBe(ErrorCodes.ServiceUnavailable);
    expect(err.message).toMatch(/LIBGITOPS_HELM/);
  });
});
