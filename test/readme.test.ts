/** Keeps README.md true: its quick start lines, and its library example runs as written. */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '..');

describe('README.md', () => {
  it('has the two quick start lines, and .ci/run runs the test line under Node 24 and 22', async () => {
    const readme = await readFile(join(root, 'README.md'), 'utf8');
    const commandLines = readme.split('\n').filter((l) => /^ {4}npm /.test(l));
    expect(commandLines).toEqual(['    npm ci && npm start', '    npm ci && npm test']);
    const ci = await readFile(join(root, '.ci/run'), 'utf8');
    // .ci/run reads the line from the README, refuses any other, and runs it once per Node major.
    expect(ci).toContain('if [ "$test_line" != "npm ci && npm test" ]; then');
    expect(ci).toMatch(/^for major in 24 22; do$/m);
    expect(ci).toMatch(/^ {2}PATH="\$node_bin:\$PATH" bash -c "\$test_line"$/m);
  });

  it('runs the library example, which changes exactly one line of the Car', async () => {
    const readme = await readFile(join(root, 'README.md'), 'utf8');
    const snippet = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(snippet).toBeDefined();
    const dir = await mkdtemp(join(tmpdir(), 'readme-'));
    try {
      const out = join(dir, 'foo.yaml');
      const code = snippet!
        .replace(/'libgitops\/(\w+)'/g, (_m, layer: string) => `'${join(root, 'src', layer, 'index.ts')}'`)
        .replaceAll("'/tmp/foo.yaml'", JSON.stringify(out));
      await writeFile(join(dir, 'example.mts'), code);
      await run(process.execPath, ['--import', 'tsx', join(dir, 'example.mts')], { cwd: root });
      const before = (await readFile(join(root, 'examples/cars/foo.yaml'), 'utf8')).split('\n');
      const after = (await readFile(out, 'utf8')).split('\n');
      expect(after).toHaveLength(before.length);
      const changed = after.map((line, i) => [before[i], line]).filter(([a, b]) => a !== b);
      expect(changed).toEqual([['  speed: 53.37474583162469', '  speed: 42']]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
