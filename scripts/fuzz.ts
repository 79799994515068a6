/**
 * `npm run fuzz -- [--cases N] [--target frames|decoder|editor] [--seed S] [--path P]`: the long
 * run of the fuzz targets of test/fuzz/targets.ts (issue 18). Each target runs N cases (default
 * 10,000); a broken invariant or a crash is shrunk by fast-check to a minimal reproducer, which
 * is printed with the seed and path that replay it. Every input is timed; one taking over 2 s
 * is reported as a hang. Prints cases, time, rate and the slowest input; exits 1 on any
 * failure or hang.
 */
import { performance } from 'node:perf_hooks';
import fc from 'fast-check';
import { TARGETS } from '../test/fuzz/targets.js';
import type { FuzzTarget, TargetName } from '../test/fuzz/targets.js';

const HANG_MS = 2_000;

interface Options {
  cases: number;
  targets: TargetName[];
  seed: number | undefined;
  path: string | undefined;
}

function parseArgs(argv: readonly string[]): Options {
  const options: Options = { cases: 10_000, targets: [], seed: undefined, path: undefined };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = (): string => {
      const next = argv[++i];
      if (next === undefined) usage(`${arg} needs a value`);
      return next;
    };
    if (arg === '--cases') options.cases = Number(value());
    else if (arg === '--target') {
      const name = value();
      if (!(name in TARGETS)) usage(`unknown target ${name}`);
      options.targets.push(name as TargetName);
    } else if (arg === '--seed') options.seed = Number(value());
    else if (arg === '--path') options.path = value();
    else usage(`unknown argument ${arg}`);
  }
  if (!Number.isSafeInteger(options.cases) || options.cases < 1) usage('--cases must be a positive integer');
  if (options.seed !== undefined && !Number.isSafeInteger(options.seed)) usage('--seed must be an integer');
  if (options.targets.length === 0) options.targets = Object.keys(TARGETS) as TargetName[];
  return options;
}

function usage(problem: string): never {
  console.error(
    `${problem}\nusage: npm run fuzz -- [--cases N] [--target ${Object.keys(TARGETS).join('|')}]... [--seed S] [--path P]`,
  );
  process.exit(2);
}

interface Timing {
  calls: number;
  slowestMs: number;
  slowest: unknown;
  hangs: Array<{ ms: number; input: unknown }>;
}

async function run<T>(target: FuzzTarget<T>, options: Options): Promise<boolean> {
  const timing: Timing = { calls: 0, slowestMs: 0, slowest: undefined, hangs: [] };
  const started = performance.now();
  let lastReport = started;
  const measure = (input: T, ms: number): void => {
    timing.calls++;
    if (ms > timing.slowestMs) {
      timing.slowestMs = ms;
      timing.slowest = input;
    }
    if (ms > HANG_MS) {
      timing.hangs.push({ ms, input });
      console.log(`[${target.name}] HANG: one input took ${ms.toFixed(0)} ms: ${fc.stringify(input)}`);
    }
    const now = performance.now();
    if (now - lastReport > 30_000) {
      lastReport = now;
      const rate = timing.calls / ((now - started) / 1000);
      console.log(
        `[${target.name}] ${timing.calls} cases, ${rate.toFixed(0)}/s, slowest ${timing.slowestMs.toFixed(1)} ms`,
      );
    }
  };
  const property = target.async
    ? fc.asyncProperty(target.arbitrary, async (input) => {
        const t = performance.now();
        try {
          await target.check(input);
        } finally {
          measure(input, performance.now() - t);
        }
      })
    : fc.property(target.arbitrary, (input) => {
        const t = performance.now();
        try {
          target.check(input) as void;
        } finally {
          measure(input, performance.now() - t);
        }
      });
  const seed = options.seed ?? Date.now() ^ (Math.random() * 0x1_0000_0000);
  const params: fc.Parameters<[T]> = { numRuns: options.cases, seed };
  if (options.path !== undefined) params.path = options.path;
  console.log(`[${target.name}] ${options.cases} cases, seed ${seed}`);
  const details = await fc.check(property as fc.IRawProperty<[T]>, params);
  const seconds = (performance.now() - started) / 1000;
  const ran = details.numRuns;
  console.log(
    `[${target.name}] ran ${ran} cases (${timing.calls} checks with shrinking) in ${seconds.toFixed(1)} s, ` +
      `${(ran / seconds).toFixed(0)} cases/s; slowest input ${timing.slowestMs.toFixed(1)} ms; ` +
      `hangs over ${HANG_MS} ms: ${timing.hangs.length}`,
  );
  if (timing.slowest !== undefined)
    console.log(`[${target.name}] slowest input: ${fc.stringify(timing.slowest)}`);
  if (details.failed) {
    console.log(
      `[${target.name}] FAILED after ${ran} cases; minimal reproducer (shrunk ${details.numShrinks} times):`,
    );
    console.log(fc.stringify(details.counterexample));
    console.log(
      `[${target.name}] error: ${details.errorInstance instanceof Error ? (details.errorInstance.stack ?? details.errorInstance.message) : String(details.errorInstance)}`,
    );
    console.log(
      `[${target.name}] replay: npm run fuzz -- --target ${target.name} --cases 1 --seed ${details.seed} --path ${details.counterexamplePath}`,
    );
    return false;
  }
  console.log(`[${target.name}] no failure`);
  return timing.hangs.length === 0;
}

const options = parseArgs(process.argv.slice(2));
let ok = true;
for (const name of options.targets) {
  ok = (await run(TARGETS[name] as FuzzTarget<unknown>, options)) && ok;
}
process.exitCode = ok ? 0 : 1;
