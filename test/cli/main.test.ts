import { chmod, cp, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main, packageVersion } from '../../src/cli/main.js';
import type { Output } from '../../src/cli/report.js';

interface Captured extends Output {
  stdout: string[];
  stderr: string[];
}

function capture(): Captured {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (l) => stdout.push(l), err: (l) => stderr.push(l) };
}

async function run(...args: string[]): Promise<{ code: number; out: Captured }> {
  const out = capture();
  const code = await main(['node', 'gitops', ...args], out);
  return { code, out };
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gitops-cli-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('gitops version', () => {
  it('prints the package version', async () => {
    const { code, out } = await run('version');
    expect(code).toBe(0);
    expect(out.stdout).toEqual([`gitops ${packageVersion()}`]);
    expect(packageVersion()).toMatch(/^\d+\.\d+\.\d+/);
  });
});

describe('gitops fmt', () => {
  const messy = [
    '# keep me',
    'apiVersion: v1',
    'kind: ConfigMap',
    'metadata:',
    '    name: demo   # and me',
    'data:',
    '    greeting: "hello"',
    '',
  ].join('\n');

  it('--check exits 1 on a file that would change, and changes nothing', async () => {
    const file = join(dir, 'cm.yaml');
    await writeFile(file, messy);
    const { code, out } = await run('fmt', '--check', file);
    expect(code).toBe(1);
    expect(out.stderr).toEqual([`${file}: would be reformatted`]);
    expect(await readFile(file, 'utf8')).toBe(messy);
  });

  it('rewrites a file keeping its comments, and is then stable under --check', async () => {
    const file = join(dir, 'cm.yaml');
    await writeFile(file, messy);
    expect((await run('fmt', file)).code).toBe(0);
    const formatted = await readFile(file, 'utf8');
    expect(formatted).toContain('# keep me');
    expect(formatted).toContain('# and me');
    expect(formatted).toMatch(/^metadata:\n {2}name: demo/m);
    expect((await run('fmt', '--check', file)).code).toBe(0);
  });

  it('formats a JSON file once: a second fmt changes nothing and --check passes', async () => {
    const file = join(dir, 'cm.json');
    const text =
      '\n  {"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"},"data":{"n":12176941420362965433}}\n\n' +
      '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"b"}}  ';
    await writeFile(file, text);
    expect((await run('fmt', '--check', file)).code).toBe(1);
    expect((await run('fmt', file)).code).toBe(0);
    const once = await readFile(file, 'utf8');
    expect(once).toMatch(/^\{\n {2}"apiVersion": "v1",\n/);
    expect(once).toContain('"n": 12176941420362965433\n');
    expect(once.endsWith('}\n')).toBe(true);
    expect(once.split('\n').filter((l) => l === '')).toEqual(['']);
    const check = await run('fmt', '--check', file);
    expect(check.out.stderr).toEqual([]);
    expect(check.code).toBe(0);
    expect((await run('fmt', file)).code).toBe(0);
    expect(await readFile(file, 'utf8')).toBe(once);
  });

  it('keeps the mode of a file it rewrites, and leaves no temporary file behind', async () => {
    const file = join(dir, 'private.yaml');
    await writeFile(file, messy, { mode: 0o600 });
    await chmod(file, 0o600);
    expect((await run('fmt', file)).code).toBe(0);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readdir(dir)).toEqual(['private.yaml']);
  });

  it('leaves the sample data alone: it is already formatted', async () => {
    const { code, out } = await run('fmt', '--check', 'examples/cars');
    expect(out.stderr).toEqual([]);
    expect(code).toBe(0);
  });

  it('the project passes its own fmt --check (deploy/, examples/), and Prettier leaves YAML to it', async () => {
    const { code, out } = await run('fmt', '--check', 'deploy', 'examples');
    expect(out.stderr).toEqual([]);
    expect(code).toBe(0);
    const ignored = (await readFile('.prettierignore', 'utf8')).split('\n');
    expect(ignored).toEqual(expect.arrayContaining(['*.yaml', '*.yml']));
  });

  it('formats a file without metadata.name (a kustomization.yaml), but not a broken one', async () => {
    const file = join(dir, 'kustomization.yaml');
    await writeFile(
      file,
      'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n    - a.yaml\n',
    );
    expect((await run('fmt', file)).code).toBe(0);
    expect(await readFile(file, 'utf8')).toBe(
      'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- a.yaml\n',
    );
  });

  it('reports a broken file as file:line:column: code: message and does not touch it', async () => {
    const file = join(dir, 'bad.yaml');
    const text = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  name: y\n';
    await writeFile(file, text);
    const { code, out } = await run('fmt', file);
    expect(code).toBe(1);
    expect(out.stderr).toHaveLength(1);
    expect(out.stderr[0]).toMatch(
      new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:5:\\d+: DuplicateKey: `),
    );
    expect(await readFile(file, 'utf8')).toBe(text);
  });

  it('reports a missing file without a stack trace', async () => {
    const { code, out } = await run('fmt', join(dir, 'nope.yaml'));
    expect(code).toBe(1);
    expect(out.stderr.join('\n')).not.toMatch(/\n\s+at /);
    expect(out.stderr[0]).toContain('nope.yaml');
  });
});

describe('gitops validate', () => {
  it('registers the Car CRD from the folder and lists every Car', async () => {
    const { code, out } = await run('validate', 'examples/cars');
    expect(out.stderr).toEqual([]);
    expect(code).toBe(0);
    // Cut each row at the header's column starts (an empty cell is all spaces).
    const header = out.stdout[0]!;
    const starts = ['KIND', 'NAMESPACE', 'NAME', 'FILE'].map((h) => header.search(new RegExp(`\\b${h}\\b`)));
    const rows = out.stdout
      .slice(1)
      .map((l) => starts.slice(0, 3).map((s, i) => l.slice(s, starts[i + 1]).trim()));
    expect(rows).toEqual([
      ['CustomResourceDefinition.apiextensions.k8s.io', '', 'cars.sample-app.weave.works'],
      ['Car.sample-app.weave.works', 'fleet', 'bar'],
      ['Car.sample-app.weave.works', 'fleet', 'baz'],
      ['Car.sample-app.weave.works', 'default', 'foo'],
    ]);
  });

  it('finds an unknown field of a Car with its line and column', async () => {
    await cp('examples/cars/car-crd.yaml', join(dir, 'crd.yaml'));
    const car = join(dir, 'car.yaml');
    await writeFile(
      car,
      'apiVersion: sample-app.weave.works/v1alpha1\nkind: Car\nmetadata:\n  name: c\nspec:\n  brand: SAAB\n  colour: red\n',
    );
    const { code, out } = await run('validate', '--crd', join(dir, 'crd.yaml'), car);
    expect(code).toBe(1);
    expect(out.stderr[0]).toMatch(/car\.yaml:7:3: UnknownField: .*colour/);
  });

  it('reports the problems of a bad --crd at the line and column of their fields', async () => {
    const text = await readFile('examples/cars/car-crd.yaml', 'utf8');
    const lines = text.split('\n');
    expect(lines[34]).toBe('                type: string');
    lines[34] = '                type: strng';
    const crd = join(dir, 'crd.yaml');
    await writeFile(crd, `# a broken copy\n---\n${lines.join('\n')}`);
    const { code, out } = await run('validate', '--crd', crd, 'examples/cars/foo.yaml');
    expect(code).toBe(1);
    // Two lines added above: line 35 of the original is line 37 here, the value at column 23.
    expect(out.stderr[0]).toMatch(/crd\.yaml:37:\d+: InvalidSchema: .*strng/);
    const noPlural = text.replace('    plural: cars\n', '');
    await writeFile(crd, noPlural);
    const again = await run('validate', '--crd', crd, 'examples/cars/foo.yaml');
    expect(again.code).toBe(1);
    expect(again.out.stderr[0]).toMatch(/crd\.yaml:10:5: Invalid: .*names\.plural/);
  });

  it('reports a --crd file that is not YAML, even when it is not among the paths', async () => {
    const crd = join(dir, 'crd.yaml');
    await writeFile(crd, 'apiVersion: apiextensions.k8s.io/v1\nkind: [CustomResourceDefinition\n');
    const { code, out } = await run('validate', '--crd', crd, 'examples/cars/foo.yaml');
    expect(code).toBe(1);
    expect(out.stderr[0]).toMatch(/crd\.yaml:\d+:\d+: YamlSyntax: /);
  });

  it('prints the objects as a JSON List with -o json', async () => {
    const { code, out } = await run('validate', '-o', 'json', 'examples/cars/foo.yaml');
    expect(code).toBe(0);
    const list = JSON.parse(out.stdout.join('\n')) as {
      kind: string;
      items: { metadata: { name: string } }[];
    };
    expect(list.kind).toBe('List');
    expect(list.items.map((i) => i.metadata.name)).toEqual(['foo']);
    // The seed Car's distance (beyond 2^53) is printed exactly, not rounded.
    expect(out.stdout.join('\n')).toContain('"distance": 12176941420362965433,');
  });

  it("validates the project's own deploy/ and examples/, skipping the kustomization with a note", async () => {
    const { code, out } = await run('validate', 'deploy', 'examples');
    expect(out.stderr).toEqual([
      'deploy/kustomization.yaml: skipped: a kustomize file, not Kubernetes objects',
      'deploy/servicemonitor.yaml:1: note: no schema for ServiceMonitor monitoring.coreos.com/v1 (give its ' +
        'CustomResourceDefinition among the files or with --crd); only apiVersion, kind and metadata of its ' +
        'object were checked',
    ]);
    expect(code).toBe(0);
    expect(out.stdout.join('\n')).toContain('applications.gitops.libgitops.dev');
  });

  it('knows the Application kind without --crd, and checks it strictly', async () => {
    const app = (extra: string): string =>
      [
        'apiVersion: gitops.libgitops.dev/v1alpha1',
        'kind: Application',
        'metadata: {name: nginx, namespace: gitops-system}',
        'spec:',
        '  source: {repoURL: https://github.com/you/config.git, branch: main, paths: [config]}',
        '  destination: {namespace: default}',
        `  policy: {interval: 3m, prune: true, selfHeal: true${extra}}`,
        '',
      ].join('\n');
    const file = join(dir, 'app.yaml');
    await writeFile(file, app(''));
    const good = await run('validate', file);
    expect(good.out.stderr).toEqual([]);
    expect(good.code).toBe(0);
    expect(good.out.stdout[1]).toMatch(/^Application\.gitops\.libgitops\.dev\s+gitops-system\s+nginx\s/);
    await writeFile(file, app(', selfHael: true'));
    const bad = await run('validate', file);
    expect(bad.code).toBe(1);
    expect(bad.out.stderr[0]).toMatch(/app\.yaml:7:\d+: UnknownField: .*selfHael/);
  });

  it('skips kustomize, Helm and sops files with a note in validate; fmt formats them as YAML', async () => {
    await writeFile(join(dir, 'kustomization.yaml'), 'resources:\n    - cm.yaml\n');
    await writeFile(join(dir, 'Chart.yaml'), 'apiVersion: v2\nname: demo\nversion: 0.1.0\n');
    await writeFile(join(dir, 'values-prod.yaml'), 'replicas:   3\n');
    await writeFile(
      join(dir, 'cm.yaml'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: demo\ndata:\n  a: "1"\n',
    );
    const notes = [
      `${join(dir, 'Chart.yaml')}: skipped: a Helm chart file, not Kubernetes objects`,
      `${join(dir, 'kustomization.yaml')}: skipped: a kustomize file, not Kubernetes objects`,
      `${join(dir, 'values-prod.yaml')}: skipped: Helm values, not Kubernetes objects`,
    ];
    const validated = await run('validate', dir);
    expect(validated.out.stderr).toEqual(notes);
    expect(validated.code).toBe(0);
    expect(validated.out.stdout).toHaveLength(2);
    const checked = await run('fmt', '--check', dir);
    expect(checked.out.stderr).toEqual([
      `${join(dir, 'kustomization.yaml')}: would be reformatted`,
      `${join(dir, 'values-prod.yaml')}: would be reformatted`,
    ]);
    expect(checked.code).toBe(1);
    expect(await readFile(join(dir, 'kustomization.yaml'), 'utf8')).toBe('resources:\n    - cm.yaml\n');
  });

  it("refuses a built-in object whose name its kind does not allow, at the name's line", async () => {
    const file = join(dir, 'cm.yaml');
    await writeFile(file, 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: Upper_Case\ndata: {}\n');
    const { code, out } = await run('validate', file);
    expect(code).toBe(1);
    expect(out.stderr[0]).toMatch(/cm\.yaml:4:\d+: Invalid: .*"Upper_Case" is not a valid ConfigMap name/);
  });

  it("checks built-in kinds against the --kube-version's schemas, at each field's line and column", async () => {
    const file = join(dir, 'deploy.yaml');
    await writeFile(
      file,
      [
        'apiVersion: apps/v1',
        'kind: Deployment',
        'metadata: {name: web, namespace: default}',
        'spec:',
        '  replicas: three',
        '  selectr: {matchLabels: {app: web}}',
        '  template:',
        '    metadata: {labels: {app: web}}',
        '    spec:',
        '      hostnameOverride: web',
        '      containers:',
        '        - name: web',
        '          image: nginx',
        '          imagePullPolicy: Sometimes',
        '          resources: {limits: {cpu: 1.5 cores}}',
        '',
      ].join('\n'),
    );
    const { code, out } = await run('validate', '--kube-version', '1.32', file);
    expect(code).toBe(1);
    expect(out.stderr.at(-1)).toBe('6 problems in 1 files');
    expect(out.stderr.slice(0, -1).map((l) => l.slice(file.length))).toEqual([
      ':5:13: TypeMismatch: .spec.replicas: must be integer, not string "three"',
      ':6:3: UnknownField: .spec.selectr: unknown field "selectr"; did you mean "selector"?',
      ':10:7: UnknownField: .spec.template.spec.hostnameOverride: unknown field "hostnameOverride"',
      ':14:28: Invalid: .spec.template.spec.containers[0].imagePullPolicy: unsupported value string "Sometimes": supported values: "Always", "IfNotPresent", "Never"',
      `:15:37: Invalid: .spec.template.spec.containers[0].resources.limits.cpu: string "1.5 cores" is not a quantity: quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'`,
      // A missing field is placed at its parent's first field.
      ':5:3: Invalid: .spec.selector: required field is missing',
    ]);
    // hostnameOverride is a field of Kubernetes 1.34, the default.
    const newest = await run('validate', file);
    expect(newest.out.stderr.some((l) => l.includes('hostnameOverride'))).toBe(false);
  });

  it('refuses a --kube-version that is not bundled, naming the known ones', async () => {
    const { code, out } = await run('validate', '--kube-version', '1.29', 'examples/cars');
    expect(code).toBe(2);
    expect(out.stderr.join('\n')).toContain('known versions: 1.30, 1.31, 1.32, 1.33, 1.34');
  });

  it('notes each kind it has no schema for, once, and does not fail for it', async () => {
    const file = join(dir, 'crs.yaml');
    const cr = (name: string): string =>
      `apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: ${name}}\nspec: {anything: 1}\n`;
    await writeFile(file, `${cr('a')}---\n${cr('b')}`);
    const { code, out } = await run('validate', file);
    expect(code).toBe(0);
    expect(out.stderr).toEqual([
      `${file}:1: note: no schema for Widget example.com/v1 (give its CustomResourceDefinition among the ` +
        'files or with --crd); only apiVersion, kind and metadata of its 2 objects were checked',
    ]);
  });

  it('exits 2 on a usage error', async () => {
    const { code } = await run('validate');
    expect(code).toBe(2);
  });
});

describe('gitops run tenancy flags', () => {
  it('refuses a --default-service-account or --trusted-namespace that is not a Kubernetes name, before starting', async () => {
    const bad = await run('run', '--default-service-account', 'Bad_Name');
    expect(bad.code).toBe(2);
    expect(bad.out.stderr.join('\n')).toMatch(/--default-service-account.*service account name/);
    const badNs = await run('run', '--no-cross-namespace-targets', '--trusted-namespace', 'Team.A');
    expect(badNs.code).toBe(2);
    expect(badNs.out.stderr.join('\n')).toMatch(/--trusted-namespace/);
  });
});

describe('conventions every command shares', () => {
  it('--version prints the version and exits 0', async () => {
    const { code, out } = await run('--version');
    expect(code).toBe(0);
    expect(out.stdout).toEqual([packageVersion()]);
  });

  it('takes the global flags before or after the command', async () => {
    const before = await run('--log-level', 'warn', '-n', 'team-a', 'fmt', '--check', 'examples/cars');
    const after = await run('fmt', '--check', 'examples/cars', '-n', 'team-a', '--log-level', 'warn');
    expect([before.code, after.code]).toEqual([0, 0]);
    const help = await run('sync', '--help');
    const text = help.out.stdout.join('\n');
    for (const flag of ['--kubeconfig', '--context', '-n, --namespace', '--log-level', '--follow'])
      expect(text).toContain(flag);
  });

  const usageErrors: [string, string[]][] = [
    ['an unknown command', ['nope']],
    ['an unknown flag', ['version', '--nope']],
    ['version with an argument', ['version', 'extra']],
    ['fmt without paths', ['fmt']],
    ['validate without paths', ['validate']],
    ['validate with an unknown format', ['validate', '-o', 'wide', 'examples/cars']],
    ['sync without a source', ['sync']],
    ['sync with an unknown format', ['sync', 'x', '-o', 'wide']],
    [
      'sync --follow with --once',
      ['sync', 'examples/cars', '--follow', '--once', '--kubeconfig', '/nonexistent'],
    ],
    ['diff without a source', ['diff']],
    ['diff with an unknown format', ['diff', 'x', '-o', 'wide']],
    ['run with a bad --listen', ['run', '--listen', 'host:99999']],
    ['run with a bad --resync', ['run', '--resync', 'soon']],
    ['apps with an unknown format', ['apps', '-o', 'wide']],
    ['completion of an unknown shell', ['completion', 'tcsh']],
    ['a namespace that is not a DNS label', ['-n', 'Not_A_Namespace', 'apps']],
    ['an unknown --log-level', ['--log-level', 'loud', 'version']],
  ];
  it.each(usageErrors)('exits 2 on %s, saying why on stderr', async (_what, args) => {
    const { code, out } = await run(...args);
    expect(code).toBe(2);
    expect(out.stderr.join('\n')).toMatch(/error|Invalid|exclude/i);
    expect(out.stdout).toEqual([]);
  });

  it('validate -o yaml prints the objects as a YAML List, -o name as kind/name', async () => {
    const yaml = await run('validate', '-o', 'yaml', 'examples/cars/foo.yaml');
    expect(yaml.code).toBe(0);
    expect(yaml.out.stdout.join('\n')).toMatch(/^apiVersion: v1\nkind: List\nitems:\n/);
    const names = await run('validate', '-o', 'name', 'examples/cars/foo.yaml');
    expect(names.out.stdout).toEqual(['car/foo']);
  });
});

describe('gitops completion', () => {
  const completeIn = async (script: string, words: string[]): Promise<string[]> => {
    const file = join(dir, 'gitops.bash');
    await writeFile(file, script);
    const { execFile } = await import('node:child_process');
    const line = [
      `source ${JSON.stringify(file)}`,
      `COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')})`,
      `COMP_CWORD=${words.length - 1}`,
      '_gitops',
      'printf "%s\\n" "${COMPREPLY[@]}"',
    ].join('\n');
    return new Promise((done, fail) => {
      execFile('bash', ['--norc', '--noprofile', '-c', line], { cwd: dir }, (error, stdout) => {
        if (error) fail(error);
        else done(stdout.split('\n').filter((l) => l !== ''));
      });
    });
  };

  it('bash: the script loads and completes subcommands, flags and -o values', async () => {
    const { code, out } = await run('completion', 'bash');
    expect(code).toBe(0);
    const script = out.stdout.join('\n');
    expect(await completeIn(script, ['gitops', 'sy'])).toEqual(['sync']);
    expect((await completeIn(script, ['gitops', 'sync', '--fo'])).sort()).toEqual(['--follow']);
    expect(await completeIn(script, ['gitops', '-n', 'team', 'diff', '-o', 'ya'])).toEqual(['yaml']);
    expect(await completeIn(script, ['gitops', 'sync', 'x', '--log-l'])).toEqual(['--log-level']);
    expect(await completeIn(script, ['gitops', 'completion', 'f'])).toEqual(['fish']);
  });

  it('zsh and fish: the scripts load in those shells', async () => {
    const { execFile } = await import('node:child_process');
    const load = (shell: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
      new Promise((done) => {
        execFile(shell, args, { cwd: dir }, (error, stdout, stderr) =>
          done({ code: error === null ? 0 : Number(error.code ?? 1), stdout, stderr }),
        );
      });
    const zsh = join(dir, '_gitops');
    await writeFile(zsh, (await run('completion', 'zsh')).out.stdout.join('\n'));
    const z = await load('zsh', [
      '-f',
      '-c',
      `autoload -U compinit && compinit -u && source ${zsh} && (( $+functions[_gitops] )) && complete -p gitops`,
    ]);
    expect(z.stderr).toBe('');
    expect(z.code).toBe(0);
    expect(z.stdout).toContain('_gitops');
    const fish = join(dir, 'gitops.fish');
    await writeFile(fish, (await run('completion', 'fish')).out.stdout.join('\n'));
    const f = await load('fish', [
      '--no-config',
      '-c',
      `source ${fish}; complete -C 'gitops sy'; complete -C 'gitops diff -o '`,
    ]);
    expect(f.code).toBe(0);
    const words = f.stdout.split('\n').map((l) => l.split('\t')[0]);
    expect(words).toContain('sync');
    expect(words).toEqual(expect.arrayContaining(['diff', 'table', 'json', 'yaml', 'name']));
  });
});
