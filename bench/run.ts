/**
 * `npm run bench [-- <area>...]`: runs every bench area, or the ones named. An area is any
 * `bench/<area>.ts` (other than this file and harness.ts) exporting `run(context)`, so a
 * layer adds its benchmarks by adding one file.
 * `BENCH_MIN_MS` sets how long each operation is measured (default 500 ms).
 */
import { readdirSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BenchArea, BenchContext } from './harness.js';

const here = dirname(fileURLToPath(import.meta.url));
const NOT_AREAS = new Set(['run', 'harness']);

function areasOnDisk(): string[] {
  return readdirSync(here)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .map((f) => basename(f, '.ts'))
    .filter((name) => !NOT_AREAS.has(name))
    .sort();
}

async function main(): Promise<number> {
  const available = areasOnDisk();
  const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  const unknown = wanted.filter((a) => !available.includes(a));
  if (unknown.length > 0) {
    console.error(`unknown bench area(s): ${unknown.join(', ')}; available: ${available.join(', ')}`);
    return 2;
  }
  const failures: string[] = [];
  const context: BenchContext = {
    log: (line) => console.log(line),
    fail: (message) => {
      failures.push(message);
      console.log(`FAIL: ${message}`);
    },
    minTimeMs: Number(process.env.BENCH_MIN_MS ?? 500),
  };
  console.log(`node ${process.version}, ${process.platform}/${process.arch}`);
  for (const area of wanted.length > 0 ? wanted : available) {
    console.log(`\n== ${area} ==`);
    const module = (await import(pathToFileURL(`${here}/${area}.ts`).href)) as Partial<BenchArea>;
    if (typeof module.run !== 'function') {
      context.fail(`bench/${area}.ts exports no run(context) function`);
      continue;
    }
    await module.run(context);
  }
  if (failures.length > 0) {
    console.log(`\n${failures.length} requirement(s) missed`);
    return 1;
  }
  return 0;
}

process.exitCode = await main();
