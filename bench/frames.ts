/**
 * Frames of one large document read in chunks, against the anchor of issue 18: the same text
 * cut from one string. Before frames were found incrementally, 64 KiB chunks of a 15 MiB
 * document took about 2,500 times as long as the whole string (30 s against 12 ms); linear work
 * keeps the ratio small.
 */
import { createFrameSplitter, splitFrames } from '../src/serializer/index.js';
import { compare, table } from './harness.js';
import type { BenchContext } from './harness.js';

// Chunked reading joins and copies the text about twice (a loaded machine adds noise); the
// quadratic reader it replaced measured thousands of times the anchor at 15 MiB.
const MAX_RATIO = 150;

function bigDocument(bytes: number): string {
  const head = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\ndata:\n';
  const lines: string[] = [head];
  let size = head.length;
  for (let i = 0; size < bytes; i++) {
    const line = `  key-${i}: "${'v'.repeat(60)}"\n`;
    lines.push(line);
    size += line.length;
  }
  return lines.join('');
}

function inChunks(text: string, chunk: number): number {
  const splitter = createFrameSplitter('yaml', { limits: { maxFrameBytes: 64 * 1024 * 1024 } });
  let frames = 0;
  for (let at = 0; at < text.length; at += chunk) frames += splitter.push(text.slice(at, at + chunk)).length;
  return frames + splitter.end().length;
}

export function run(context: BenchContext): void {
  const rows: (string | number)[][] = [];
  for (const mib of [1, 15]) {
    const text = bigDocument(mib * 1024 * 1024);
    const limits = { maxFrameBytes: 64 * 1024 * 1024 };
    const timings = compare(
      {
        whole: () => splitFrames(text, { limits }),
        chunks64k: () => inChunks(text, 64 * 1024),
        chunks4k: () => inChunks(text, 4 * 1024),
      },
      context.minTimeMs,
    );
    const whole = timings.whole!.bestMs;
    for (const name of ['chunks64k', 'chunks4k']) {
      const ratio = timings[name]!.bestMs / whole;
      rows.push([`${mib} MiB`, name, whole.toFixed(1), timings[name]!.bestMs.toFixed(1), ratio.toFixed(2)]);
      if (ratio > MAX_RATIO)
        context.fail(`frames of ${mib} MiB in ${name} take ${ratio.toFixed(2)}x one string`);
    }
  }
  context.log('frames of one document (best ms; ratio = chunked / whole string, the anchor)');
  for (const line of table(['document', 'chunks', 'whole ms', 'chunked ms', 'ratio'], rows))
    context.log(line);
}
