/**
 * The package as npm ships it: `npm pack` (which builds through prepack), installed into a
 * scratch project that has no examples/ and no sources, where the README's library example runs
 * and type-checks under both `nodenext` and the old `node10` resolution (typesVersions).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXPECTED_SNIPPET_OUTPUT, snippetOf } from './support/readme-snippet.js';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '..');
// npm (through npx vitest) exports its own settings; a nested npm must not see them.
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
let dir: string;
let tarball: string;
let files: string[];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gitops-pack-'));
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', dir], {
    cwd: root,
    env,
    maxBuffer: 64 * 1024 * 1024,
  });
  const [info] = JSON.parse(stdout) as [{ filename: string; files: { path: string }[] }];
  tarball = join(dir, info.filename);
  files = info.files.map((f) => f.path);
  const project = join(dir, 'project');
  await run('mkdir', ['-p', project]);
  await writeFile(
    join(project, 'package.json'),
    JSON.stringify({ name: 'scratch', private: true, type: 'module' }),
  );
  await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--ignore-scripts', tarball], {
    cwd: project,
    env,
    maxBuffer: 64 * 1024 * 1024,
  });
}, 600_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the packed package', () => {
  it('ships dist/, bin/ and LICENSE, and no source maps or sources', () => {
    expect(files).toContain('LICENSE');
    expect(files).toContain('bin/gitops.js');
    expect(files).toContain('dist/index.js');
    expect(files).toContain('dist/runtime/index.d.ts');
    // Built-in kinds' schemas, read on first use (src/runtime/builtin-schema.ts).
    expect(files).toContain('dist/runtime/builtin-schemas.json');
    expect(files.filter((f) => f.endsWith('.map'))).toEqual([]);
    expect(files.filter((f) => f.startsWith('src/') || f.startsWith('examples/'))).toEqual([]);
  });

  it("runs the README's library example in a scratch project", async () => {
    const project = join(dir, 'project');
    expect(await readdir(project)).not.toContain('examples');
    await writeFile(join(project, 'example.mts'), snippetOf(await readFile(join(root, 'README.md'), 'utf8')));
    const tsx = pathToFileURL(join(root, 'node_modules/tsx/dist/loader.mjs')).href;
    const { stdout } = await run(process.execPath, ['--import', tsx, 'example.mts'], { cwd: project, env });
    expect(stdout).toBe(EXPECTED_SNIPPET_OUTPUT);
  }, 120_000);

  it.each(['nodenext', 'node10'])(
    'type-checks the example under %s module resolution',
    async (resolution) => {
      const project = join(dir, 'project');
      await writeFile(
        join(project, 'example.mts'),
        snippetOf(await readFile(join(root, 'README.md'), 'utf8')),
      );
      const config = {
        compilerOptions: {
          module: resolution === 'node10' ? 'es2022' : 'nodenext',
          moduleResolution: resolution,
          target: 'es2022',
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: ['node'],
          typeRoots: [join(root, 'node_modules/@types')],
        },
        files: ['example.mts'],
      };
      await writeFile(join(project, `tsconfig.${resolution}.json`), JSON.stringify(config));
      const tsc = join(root, 'node_modules/typescript/bin/tsc');
      const result = await run(process.execPath, [tsc, '-p', `tsconfig.${resolution}.json`], {
        cwd: project,
        env,
      }).catch((error: { stdout?: string }) => ({ stdout: `failed: ${error.stdout ?? ''}` }));
      expect(result.stdout).toBe('');
    },
    120_000,
  );
});
