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

  it('exits 2 on a usage error', async () => {
    const { code } = await run('validate');
    expect(code).toBe(2);
  });
});
