/**
 * Where the shared corpus of real manifests is: `$LIBGITOPS_CORPUS`, else `shared/corpus` beside
 * this checkout (how CI lays it out), else the workplace's `/work/shared/corpus`.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

function locate(): string {
  const candidates = [
    process.env.LIBGITOPS_CORPUS,
    resolve(import.meta.dirname, '../../../shared/corpus'),
    '/work/shared/corpus',
  ].filter((c): c is string => c !== undefined && c !== '');
  const found = candidates.find((c) => existsSync(join(c, 'SOURCES.md')));
  if (found === undefined) {
    throw new Error(
      `the shared corpus of manifests is missing: looked in ${candidates.join(', ')}; set LIBGITOPS_CORPUS`,
    );
  }
  return found;
}

export const CORPUS = locate();
