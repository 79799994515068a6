import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { readManifestFile } from '../../src/cli/files.js';
import { main } from '../../src/cli/main.js';
import { ErrorCodes, GitOpsError } from '../../src/runtime/index.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gitops-files-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function run(...args: string[]): Promise<{ code: number; stderr: string[] }> {
  const stderr: string[] = [];
  const code = await main(['node', 'gitops', ...args], { out: () => undefined, err: (l) => stderr.push(l) });
  return { code, stderr };
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  return promise.then(
    () => undefined,
    (e: unknown) => (e instanceof GitOpsError ? e.code : String(e)),
  );
}

describe('reading manifest files', () => {
  it('gitops fmt refuses invalid UTF-8 with InvalidEncoding and leaves the bytes as they were', async () => {
    const file = join(dir, 'latin1.yaml');
    const bytes = Buffer.concat([
      Buffer.from('apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name:   x\ndata:\n  a: "caf'),
      Buffer.from([0xe9]),
      Buffer.from('"\n'),
    ]);
    await writeFile(file, bytes);
    const { code, stderr } = await run('fmt', file);
    expect(code).toBe(1);
    expect(stderr.join('\n')).toContain('InvalidEncoding');
    expect(stderr.join('\n')).toContain('byte 69');
    expect(Buffer.compare(await readFile(file), bytes)).toBe(0);
  });

  it('gitops validate and fmt refuse a FIFO and a device instead of blocking or reading for ever', async () => {
    const fifo = join(dir, 'pipe.yaml');
    execFileSync('mkfifo', [fifo]);
    for (const command of ['validate', 'fmt']) {
      const fromFifo = await run(command, fifo);
      expect(fromFifo.code).toBe(1);
      expect(fromFifo.stderr.join('\n')).toContain('IoError');
      const fromZero = await run(command, '/dev/zero');
      expect(fromZero.code).toBe(1);
      expect(fromZero.stderr.join('\n')).toContain('not a regular file');
    }
  });

  it('refuses a file over the size limit with FileTooLarge', async () => {
    const file = join(dir, 'big.yaml');
    await writeFile(file, `a: ${'x'.repeat(2_000)}\n`);
    expect(await codeOf(readManifestFile(file, 1_024))).toBe(ErrorCodes.FileTooLarge);
    expect(await readManifestFile(file, 4_096)).toMatch(/^a: x+\n$/);
  });
});
