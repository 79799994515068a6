/**
 * Validation throughput: strict decoding (a Scheme holding every CustomResourceDefinition of the
 * group, the Application kind, unknown-field and duplicate-key checks, built-in kinds checked
 * against their bundled Kubernetes 1.32 schemas) next to plain decoding (no scheme, not strict)
 * of the same corpus files in the same run, and strict decoding without the built-in schemas
 * (metadata and name rules only) to show what they cost. The target: strict decoding of
 * built-in kinds costs at most 2x plain decoding. Reported, not asserted.
 */
import { Scheme } from '../src/runtime/index.js';
import type { KubeObject } from '../src/runtime/index.js';
import { Decoder } from '../src/serializer/index.js';
import { applicationCrd } from '../src/operator/index.js';
import { compare, corpusFiles, mbPerSecond, table } from './harness.js';
import type { BenchContext } from './harness.js';

export async function run(context: BenchContext): Promise<void> {
  const rows: (string | number)[][] = [];
  for (const group of ['argo-cd/install.yaml', 'kube-prometheus', 'k8s-examples']) {
    const files = corpusFiles(group);
    const bytes = files.reduce((n, f) => n + f.bytes, 0);
    const plain = new Decoder({ strict: false });
    const scheme = new Scheme({ kubeVersion: '1.32' });
    const metadataOnly = new Scheme({ kubeVersion: false });
    for (const s of [scheme, metadataOnly]) {
      s.registerCRD(applicationCrd());
      for (const f of files) {
        for (const o of plain.decodeText(f.text, { file: f.file }).objects) {
          if (o.kind === 'CustomResourceDefinition') registerQuietly(s, o);
        }
      }
    }
    const strict = new Decoder({ strict: true, scheme });
    const strictNoBuiltin = new Decoder({ strict: true, scheme: metadataOnly });
    const objects = files.reduce((n, f) => n + plain.decodeText(f.text, { file: f.file }).objects.length, 0);
    const times = compare(
      {
        plain: () => files.forEach((f) => plain.decodeText(f.text, { file: f.file })),
        strict: () => files.forEach((f) => strict.decodeText(f.text, { file: f.file })),
        noBuiltin: () => files.forEach((f) => strictNoBuiltin.decodeText(f.text, { file: f.file })),
      },
      context.minTimeMs,
    );
    const p = times.plain!;
    const s = times.strict!;
    const n = times.noBuiltin!;
    rows.push([
      group,
      String(objects),
      mbPerSecond(bytes, p.bestMs),
      mbPerSecond(bytes, s.bestMs),
      (s.bestMs / p.bestMs).toFixed(2),
      (n.bestMs / p.bestMs).toFixed(2),
    ]);
  }
  context.log(
    'validation (ratio = strict decode time / plain decode time; target <= 2; ' +
      'without built-in = strict with metadata rules only, for comparison)',
  );
  for (const line of table(
    ['group', 'objects', 'plain MB/s', 'strict MB/s', 'ratio', 'ratio without built-in'],
    rows,
  ))
    context.log(line);
}

function registerQuietly(scheme: Scheme, crd: KubeObject): void {
  try {
    scheme.registerCRD(crd);
  } catch {
    // A CRD the corpus holds twice or in conflict: the first one counts.
  }
}
