import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';

import { main } from '../../src/cli/main.js';
import type { Output } from '../../src/cli/report.js';
import { toApplication } from '../../src/operator/application.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gitops-import-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function run(...files: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const output: Output = { out: (l) => out.push(l), err: (l) => err.push(l) };
  const code = await main(['node', 'gitops', 'import', ...files], output);
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

const ARGO = `apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: guestbook
  namespace: argocd
spec:
  project: default
  source:
    repoURL: https://github.com/argoproj/argocd-example-apps.git
    targetRevision: v1.2.0
    path: helm-guestbook
    helm:
      releaseName: gb
      valueFiles: [values-prod.yaml]
      parameters:
        - name: replicaCount
          value: "2"
      skipCrds: true
      fileParameters:
        - name: config
          path: files/config.json
  destination:
    server: https://kubernetes.default.svc
    namespace: guestbook
  syncPolicy:
    automated:
      prune: true
      selfHeal: true
    syncOptions: [CreateNamespace=true]
    retry:
      limit: 5
      backoff: {duration: 5s, maxDuration: 3m, factor: 2}
  ignoreDifferences:
    - group: apps
      kind: Deployment
      jsonPointers: [/spec/replicas]
`;

const FLUX = `apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: podinfo, namespace: flux-system}
spec:
  interval: 1m
  url: https://github.com/stefanprodan/podinfo
  ref: {branch: master}
  secretRef: {name: git-auth}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: podinfo, namespace: flux-system}
spec:
  interval: 10m
  path: ./kustomize
  prune: true
  wait: true
  targetNamespace: apps
  sourceRef: {kind: GitRepository, name: podinfo}
  dependsOn: [{name: infra}]
  postBuild:
    substitute: {cluster: prod}
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: web, namespace: flux-system}
spec:
  interval: 5m
  releaseName: web
  targetNamespace: web
  chart:
    spec:
      chart: ./charts/podinfo
      version: "6.x"
      valuesFiles: [./charts/podinfo/values-prod.yaml, ./env/prod.yaml]
      sourceRef: {kind: GitRepository, name: podinfo}
  values: {replicaCount: 3}
  valuesFrom: [{kind: ConfigMap, name: web-values}]
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: from-repo, namespace: flux-system}
spec:
  chart:
    spec:
      chart: podinfo
      sourceRef: {kind: HelmRepository, name: podinfo}
`;

describe('gitops import', () => {
  it('turns an Argo CD Application into ours, naming every field it could not carry over', async () => {
    await writeFile(join(dir, 'argo.yaml'), ARGO);
    const { code, stdout } = await run(join(dir, 'argo.yaml'));
    expect(code).toBe(0);
    const docs = parseAllDocuments(stdout).map((d) => d.toJS() as unknown);
    expect(docs).toHaveLength(1);
    const app = toApplication(docs[0]);
    expect(app.metadata).toMatchObject({ name: 'guestbook', namespace: 'argocd' });
    expect(app.spec.source).toMatchObject({
      repoURL: 'https://github.com/argoproj/argocd-example-apps.git',
      targetRevision: 'v1.2.0',
      paths: ['helm-guestbook'],
      helm: { releaseName: 'gb', valueFiles: ['values-prod.yaml'], includeCRDs: false },
    });
    expect(app.spec.source.helm?.parameters).toEqual([{ name: 'replicaCount', value: '2' }]);
    expect(app.spec.destination.namespace).toBe('guestbook');
    expect(app.spec.policy).toMatchObject({ prune: true, selfHeal: true });
    expect(app.spec.policy.retry).toMatchObject({ limit: 5, backoffSeconds: 5, maxBackoffSeconds: 180 });
    const comments = stdout.split('\n').filter((l) => l.startsWith('#   '));
    expect(comments.map((l) => l.slice(4).split(':')[0]).sort()).toEqual(
      [
        '.spec.ignoreDifferences',
        '.spec.project',
        '.spec.source.helm.fileParameters',
        '.spec.syncPolicy.retry.backoff.factor',
        '.spec.syncPolicy.syncOptions',
      ].sort(),
    );
    expect(stdout).toMatch(/# {3}\.spec\.project: "default": no projects here/);
  });

  it('turns Flux Kustomization and HelmRelease with their GitRepository into ours; other sources are skipped with a reason', async () => {
    await writeFile(join(dir, 'flux.yaml'), FLUX);
    const { code, stdout, stderr } = await run(dir);
    expect(code).toBe(0);
    const apps = parseAllDocuments(stdout).map((d) => toApplication(d.toJS()));
    expect(apps.map((a) => a.metadata.name)).toEqual(['podinfo', 'web']);
    const [kust, helm] = apps;
    expect(kust!.spec.source).toMatchObject({
      repoURL: 'https://github.com/stefanprodan/podinfo',
      branch: 'master',
      paths: ['kustomize'],
      credentialsSecretRef: { name: 'git-auth' },
    });
    expect(kust!.spec.destination.namespace).toBe('apps');
    expect(kust!.spec.policy).toMatchObject({ prune: true, waitForHealth: true, interval: '10m' });
    expect(kust!.spec.dependsOn).toEqual([{ name: 'infra' }]);
    expect(helm!.spec.source.paths).toEqual(['charts/podinfo']);
    expect(helm!.spec.source.helm).toMatchObject({
      releaseName: 'web',
      valueFiles: ['values-prod.yaml', '../../env/prod.yaml'],
      valuesObject: { replicaCount: 3 },
    });
    expect(helm!.spec.destination.namespace).toBe('web');
    expect(stdout).toMatch(/\.spec\.postBuild: \{"substitute".*variable substitution is not supported/);
    expect(stdout).toMatch(/\.spec\.valuesFrom.*not supported/);
    expect(stdout).toMatch(/\.spec\.chart\.spec\.version: "6\.x"/);
    expect(stdout).toMatch(/GitRepository flux-system\/podinfo \.spec\.interval: "1m"/);
    expect(stderr).toMatch(
      /HelmRelease flux-system\/from-repo: its chart does not come from a GitRepository/,
    );
  });

  it('says so when there is nothing to import', async () => {
    await writeFile(join(dir, 'cm.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n');
    const { code, stdout, stderr } = await run(join(dir, 'cm.yaml'));
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/nothing to import/);
  });
});
