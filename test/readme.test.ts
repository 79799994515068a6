import { existsSync } from 'node:fs';
/** Keeps README.md true: its quick start lines, and its library example runs as written. */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { EXPECTED_SNIPPET_OUTPUT, snippetOf } from './support/readme-snippet.js';

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

  it('runs the library example, which changes exactly one line and keeps the comments', async () => {
    const code = snippetOf(await readFile(join(root, 'README.md'), 'utf8')).replace(
      /'libgitops\/(\w+)'/g,
      (_m, layer: string) => `'${join(root, 'src', layer, 'index.ts')}'`,
    );
    const dir = await mkdtemp(join(tmpdir(), 'readme-'));
    try {
      await writeFile(join(dir, 'example.mts'), code);
      const { stdout } = await run(process.execPath, ['--import', 'tsx', join(dir, 'example.mts')], {
        cwd: root,
      });
      expect(stdout).toBe(EXPECTED_SNIPPET_OUTPUT);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('deploy/README.md names only files that exist', async () => {
    const text = await readFile(join(root, 'deploy/README.md'), 'utf8');
    const named = [
      ...text.matchAll(/`?((?:deploy|examples)\/[\w./-]+\.(?:ya?ml|md|json)|[\w-]+\.ya?ml)`?/g),
    ].map((m) => m[1]!);
    expect(named.length).toBeGreaterThan(3);
    for (const name of new Set(named)) {
      const path = name.includes('/') ? join(root, name) : join(root, 'deploy', name);
      expect([name, existsSync(path)]).toEqual([name, true]);
    }
  });
});
