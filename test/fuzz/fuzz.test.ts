/**
 * The fuzz targets of test/fuzz/targets.ts, a bounded number of cases each, inside `npm test`
 * (a few seconds in all). The seed is fixed so that a run is repeatable; FUZZ_SEED and
 * FUZZ_CASES change it. Long runs with random seeds: `npm run fuzz -- --cases N`.
 */
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { TARGETS } from './targets.js';
import type { FuzzTarget } from './targets.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20_261_206);
const CASES: Record<keyof typeof TARGETS, number> = { frames: 300, decoder: 400, editor: 150 };

async function runTarget<T>(target: FuzzTarget<T>, cases: number): Promise<void> {
  const numRuns = Number(process.env.FUZZ_CASES ?? cases);
  if (target.async) {
    await fc.assert(
      fc.asyncProperty(target.arbitrary, async (input) => {
        await target.check(input);
      }),
      { numRuns, seed: SEED },
    );
  } else {
    fc.assert(
      fc.property(target.arbitrary, (input) => {
        void target.check(input);
      }),
      { numRuns, seed: SEED },
    );
  }
}

describe('fuzz targets (bounded)', () => {
  it('frames: any cutting re-assembles byte for byte; limits refuse with a typed error after the good frames', async () => {
    await runTarget(TARGETS.frames, CASES.frames);
  });

  it('decoder: hostile text gives only typed errors; encoded objects (big integers too) decode to themselves', async () => {
    await runTarget(TARGETS.decoder, CASES.decoder);
  });

  it('editor: the intended object, other documents byte for byte, untouched lines and comments kept', async () => {
    await runTarget(TARGETS.editor, CASES.editor);
  });
});
