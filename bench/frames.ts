/**
 * Frames of one large document read in chunks, against the anchor of issue 18: the same text
 * cut from one string. Before frames were found incrementally, 64 KiB chunks of a 15 MiB
 * document took about 2,500 times as long as the whole string (30 s against 12 ms); linear work
 * keeps the ratio small. The JSON splitter is measured the same way (a large JSON object): it
 * had the same quadratic fault, 64 KiB chunks of 15 MiB taking about 90 times one string.
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

function bigJsonDocument(bytes: number): string {
  const parts: string[] = [
    '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "big"}, "data": {\n',
  ];
  let size = parts[0]!.length;
  for (let i = 0; size < bytes; i++) {
    const line = `  "key-${i}": "${'v'.repeat(60)}",\n`;
    parts.push(line);
    size += line.length;
  }
  parts.push('  "last": "x"\n}}\n');
  return parts.join('');
}

function inChunks(text: string, chunk: number, contentType: 'yaml' | 'json'): number {
  const splitter = createFrameSplitter(contentType, { limits: { maxFrameBytes: 64 * 1024 * 1024 } });
  let frames = 0;
  for (let at = 0; at < text.length; at += chunk) frames += splitter.push(text.slice(at, at + chunk)).length;
  return frames + splitter.end().length;
}

export function run(context: BenchContext): void {
  const rows: (string | number)[][] = [];
  for (const contentType of ['yaml', 'json'] as const) {
    for (const mib of [1, 15]) {
      const bytes = mib * 1024 * 1024;
      const text = contentType === 'yaml' ? bigDocument(bytes) : bigJsonDocument(bytes);
      const limits = { maxFrameBytes: 64 * 1024 * 1024 };
      const timings = compare(
        {
          whole: () => splitFrames(text, { contentType, limits }),
          chunks64k: () => inChunks(text, 64 * 1024, contentType),
          chunks4k: () => inChunks(text, 4 * 1024, contentType),
        },
        context.minTimeMs,
      );
      const whole = timings.whole!.bestMs;
      for (const name of ['chunks64k', 'chunks4k']) {
        const ratio = timings[name]!.bestMs / whole;
        const cells = [whole.toFixed(1), timings[name]!.bestMs.toFixed(1), ratio.toFixed(2)];
        rows.push([contentType, `${mib} MiB`, name, ...cells]);
        if (ratio > MAX_RATIO)
          context.fail(`${contentType} frames of ${mib} MiB in ${name} take ${ratio.toFixed(2)}x one string`);
      }
    }
  }
  context.log('frames of one document (best ms; ratio = chunked / whole string, the anchor)');
  for (const line of table(['type', 'document', 'chunks', 'whole ms', 'chunked ms', 'ratio'], rows))
    context.log(line);
}
