/**
 * What loads at start-up: `gitops version`, `gitops fmt` and `import 'libgitops'` must not load
 * the cluster client, the forges' SDKs, the HTTP server or the schema compiler (they cost
 * seconds; bench/startup.ts measures the times). Each case runs in a fresh Node process that
 * records every module it resolves (ES modules through a loader hook, CommonJS and
 * `require(esm)` through the require cache); a control case shows the recording sees a
 * lazily loaded package once it is used. A plain kubeconfig is read without client-node (its
 * generated API costs an operator process some 50 MB).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let dir: string;
let hooks: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gitops-startup-'));
  hooks = join(dir, 'hooks.mjs');
  await writeFile(
    hooks,
    "export async function resolve(s, c, next) { const r = await next(s, c); process.stderr.write('LOADED ' + r.url + '\\n'); return r; }\n",
  );
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The packages (node_modules/<name>) a script loads, run in its own process from the sources. */
async function packagesLoadedBy(body: string): Promise<Set<string>> {
  const script = [
    "import { register } from 'node:module';",
    "import { createRequire } from 'node:module';",
    `register(${JSON.stringify(pathToFileURL(hooks).href)});`,
    body,
    'const cache = createRequire(import.meta.url).cache;',
    "for (const k of Object.keys(cache)) process.stderr.write('LOADED ' + k + '\\n');",
  ].join('\n');
  const stderr = await new Promise<string>((done, fail) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      { cwd: resolve('.'), maxBuffer: 64 * 1024 * 1024 },
      (error, _stdout, err) => (error ? fail(new Error(`${error.message}\n${err}`)) : done(err)),
    );
  });
  const packages = new Set<string>();
  for (const line of stderr.split('\n')) {
    const m = /^LOADED .*?node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(line);
    if (m !== null) packages.add(m[1]!);
  }
  return packages;
}

const HEAVY = [
  '@kubernetes/client-node',
  '@octokit/rest',
  '@gitbeaker/rest',
  'fastify',
  'prom-client',
  'pino',
];
const main = JSON.stringify(resolve('src/cli/main.ts'));

describe('start-up', () => {
  it('gitops version and gitops fmt load no cluster, forge, server or schema code', async () => {
    for (const args of [['version'], ['fmt', '--check', 'examples/cars/foo.yaml']]) {
      const loaded = await packagesLoadedBy(
        `const { main } = await import(${main}); const code = await main(['node', 'gitops', ...${JSON.stringify(args)}], { out() {}, err() {} }); if (code !== 0) throw new Error('exit ' + code);`,
      );
      expect(loaded.has('commander')).toBe(true);
      for (const name of [...HEAVY, 'ajv']) expect([args[0], loaded.has(name)]).toEqual([args[0], false]);
    }
  }, 120_000);

  it("import 'libgitops' loads none of them, nor the yaml parser", async () => {
    const loaded = await packagesLoadedBy(`await import(${JSON.stringify(resolve('src/index.ts'))});`);
    expect(loaded.has('js-yaml')).toBe(true);
    for (const name of [...HEAVY, 'ajv', 'yaml']) expect([name, loaded.has(name)]).toEqual([name, false]);
  }, 120_000);

  /** Packages loaded by reading a kubeconfig whose user is `user` (flow YAML). */
  async function loadedByKubeconfig(user: string): Promise<Set<string>> {
    const kubeconfig = join(dir, `kubeconfig-${Math.random().toString(36).slice(2)}`);
    await writeFile(
      kubeconfig,
      'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]\n' +
        `users: [{name: u, user: ${user}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n`,
    );
    return packagesLoadedBy(
      `const { loadKubeconfig } = await import(${JSON.stringify(resolve('src/kube/index.ts'))}); await loadKubeconfig({ kubeconfigPath: ${JSON.stringify(kubeconfig)} }).credentials();`,
    );
  }

  it('a plain kubeconfig (a token, certificates) is read without client-node', async () => {
    const loaded = await loadedByKubeconfig('{token: t}');
    expect(loaded.has('js-yaml')).toBe(true);
    expect(loaded.has('@kubernetes/client-node')).toBe(false);
  }, 120_000);

  it('control: a kubeconfig that needs it (basic auth) loads client-node, and the recording sees it', async () => {
    const loaded = await loadedByKubeconfig('{username: a, password: b}');
    expect(loaded.has('@kubernetes/client-node')).toBe(true);
  }, 120_000);
});
