/**
 * What every bench area shares: timing, the corpus, and printing. An area is a file
 * `bench/<area>.ts` exporting `run(context)`; bench/run.ts finds and runs it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { CORPUS } from '../test/support/corpus.js';

export { CORPUS };

export interface BenchContext {
  /** Prints one line of the report. */
  log(line: string): void;
  /** Marks a hard requirement as missed; run.ts then exits non-zero. */
  fail(message: string): void;
  /** Minimum time spent measuring each operation, in ms. */
  minTimeMs: number;
}

/** A bench area module. */
export interface BenchArea {
  run(context: BenchContext): Promise<void>;
}

export interface Timing {
  /** Fastest run, in ms: the least disturbed by other processes on a shared machine. */
  bestMs: number;
  medianMs: number;
  runs: number;
}

/**
 * Times several operations in turns (a, b, c, a, b, c, ...), so that a burst of load from
 * other processes hits all of them alike; one warm-up run each first.
 */
export function compare(
  ops: Record<string, () => unknown>,
  minTimeMs: number,
  minRuns = 5,
): Record<string, Timing> {
  const names = Object.keys(ops);
  const samples: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (const name of names) ops[name]?.();
  const started = performance.now();
  while (
    performance.now() - started < minTimeMs * names.length ||
    (samples[names[0] ?? '']?.length ?? 0) < minRuns
  ) {
    for (const name of names) {
      const t0 = performance.now();
      ops[name]?.();
      samples[name]?.push(performance.now() - t0);
    }
  }
  const out: Record<string, Timing> = {};
  for (const name of names) {
    const sorted = [...(samples[name] ?? [])].sort((a, b) => a - b);
    out[name] = {
      bestMs: sorted[0] ?? NaN,
      medianMs: sorted[Math.floor(sorted.length / 2)] ?? NaN,
      runs: sorted.length,
    };
  }
  return out;
}

export function mbPerSecond(bytes: number, ms: number): number {
  return bytes / 1e6 / (ms / 1000);
}

export function perSecond(count: number, ms: number): number {
  return count / (ms / 1000);
}

/** A file of the corpus, with its path relative to the corpus. */
export interface CorpusFile {
  file: string;
  text: string;
  bytes: number;
}

/** Every .yaml/.yml/.json file under a folder of the corpus (or one file), sorted. */
export function corpusFiles(path: string): CorpusFile[] {
  const root = join(CORPUS, path);
  const paths: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (/\.(ya?ml|json)$/i.test(entry.name)) paths.push(p);
    }
  };
  if (/\.(ya?ml|json)$/i.test(root)) paths.push(root);
  else walk(root);
  return paths.sort().map((p) => {
    const text = readFileSync(p, 'utf8');
    return { file: relative(CORPUS, p), text, bytes: Buffer.byteLength(text) };
  });
}

/** Formats rows as an aligned table; numbers get a fixed number of decimals. */
export function table(header: string[], rows: (string | number)[][], decimals = 1): string[] {
  const cells = [header, ...rows.map((r) => r.map((c) => (typeof c === 'number' ? c.toFixed(decimals) : c)))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map((r, ri) =>
    r
      .map((c, i) => (i === 0 || ri === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
}
