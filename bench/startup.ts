/**
 * Start-up: `gitops version`, `gitops fmt --check` and `import 'libgitops'` (the built package,
 * dist/), each as a new Node process, beside `node -e ''` as the anchor. Reported as times and
 * as ratios to the anchor (run in turns, so load from other processes hits all alike). The goal
 * (issue 19) is under 0.5 s each on an idle machine; the ratio is what compares across machines.
 */
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchContext } from './harness.js';
import { compare, table } from './harness.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function node(args: string[]): () => void {
  return () => {
    execFileSync(process.execPath, args, { cwd: root, stdio: 'ignore' });
  };
}

export async function run(context: BenchContext): Promise<void> {
  const bin = join(root, 'bin/gitops.js');
  const timings = compare(
    {
      "node -e ''": node(['-e', '']),
      'gitops version': node([bin, 'version']),
      'gitops fmt --check examples/cars': node([bin, 'fmt', '--check', 'examples/cars']),
      "import 'libgitops'": node(['--input-type=module', '-e', "import 'libgitops';"]),
    },
    Math.max(context.minTimeMs, 2000),
    5,
  );
  const anchor = timings["node -e ''"]!.bestMs;
  const rows = Object.entries(timings).map(([name, t]) => [name, t.bestMs, t.medianMs, t.bestMs / anchor]);
  for (const line of table(['process', 'best ms', 'median ms', 'x node'], rows, 2)) context.log(line);
  await Promise.resolve();
}
