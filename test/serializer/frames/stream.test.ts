/**
 * A 100 MB stream is decoded frame by frame: the heap never holds the whole stream, and the
 * first objects come out while the source is still producing.
 */
import { Readable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { Decoder } from '../../../src/serializer/decode/decode.js';

const TOTAL_BYTES = 100 * 1024 * 1024;

// Live heap is measured after a full collection, so garbage not yet collected does not count.
setFlagsFromString('--expose_gc');
const gc = runInNewContext('gc') as () => void;

function liveHeap(): number {
  gc();
  return process.memoryUsage().heapUsed;
}

function document(i: number): string {
  return (
    `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: config-${i}\n  namespace: team-${i % 7}\n` +
    `  labels:\n    app: app-${i % 13}\n    tier: backend\n  annotations:\n    note: "generated #${i}"\n` +
    `data:\n  settings.yaml: |\n    replicas: ${i % 5}\n    enabled: on\n    mode: "0755"\n` +
    `  payload: ${'x'.repeat(300)}\n`
  );
}

describe('streaming', () => {
  it('decodes 100 MB of YAML with the heap far below the size of the stream', async () => {
    let produced = 0;
    let documents = 0;
    // Generates the stream lazily in 64 KiB-ish chunks; nothing keeps what was handed out.
    async function* generate(): AsyncGenerator<string> {
      let chunk = '';
      while (produced < TOTAL_BYTES) {
        const doc = (documents === 0 ? '' : '---\n') + document(documents);
        documents++;
        chunk += doc;
        produced += doc.length;
        if (chunk.length >= 64 * 1024) {
          yield chunk;
          chunk = '';
        }
      }
      if (chunk !== '') yield chunk;
    }

    const baseline = liveHeap();
    let peak = 0;
    let decoded = 0;
    let producedAtFirstObject = -1;
    let problems = 0;
    const decoder = new Decoder({ limits: { maxFrames: 1_000_000 } });
    for await (const doc of decoder.decodeStream(Readable.from(generate()))) {
      problems += doc.errors.length;
      if (producedAtFirstObject === -1) producedAtFirstObject = produced;
      decoded += doc.objects.length;
      if (decoded % 20_000 === 0) {
        expect(doc.objects[0]?.data).toMatchObject({ payload: 'x'.repeat(300) });
        peak = Math.max(peak, liveHeap() - baseline);
      }
    }
    expect(produced).toBeGreaterThanOrEqual(TOTAL_BYTES);
    expect(problems).toBe(0);
    expect(decoded).toBe(documents);
    expect(producedAtFirstObject).toBeLessThan(1024 * 1024);
    // Holding the stream would take over 100 MB of strings plus its objects; frame by frame
    // the live heap grows by a few MB at most.
    expect(peak).toBeLessThan(TOTAL_BYTES / 10);
  }, 180_000);

  it('decodes a large NDJSON stream the same way', async () => {
    const lines = 20_000;
    async function* generate(): AsyncGenerator<Buffer> {
      for (let i = 0; i < lines; i += 100) {
        let chunk = '';
        for (let j = i; j < i + 100; j++) {
          chunk +=
            JSON.stringify({
              apiVersion: 'v1',
              kind: 'ConfigMap',
              metadata: { name: `c-${j}` },
              data: { j: String(j) },
            }) + '\n';
        }
        yield Buffer.from(chunk);
      }
    }
    let count = 0;
    let last = '';
    const decoder = new Decoder({ limits: { maxFrames: lines } });
    for await (const doc of decoder.decodeStream(Readable.from(generate()), { contentType: 'json' })) {
      expect(doc.errors).toEqual([]);
      count += doc.objects.length;
      last = doc.objects[0]?.metadata.name ?? '';
    }
    expect(count).toBe(lines);
    expect(last).toBe(`c-${lines - 1}`);
  });
});
