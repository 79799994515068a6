/**
 * Serializer throughput: decoding and encoding on each corpus group and on a generated
 * 10,000-object file, next to js-yaml's plain `loadAll` / `dump` of the same bytes in the same
 * run. Requirement: decoding argo-cd/install.yaml at >= 5 MB/s and at most 2x loadAll's time.
 */
import jsYaml from 'js-yaml';
import { Decoder, ManifestFile, encodeYaml } from '../src/serializer/index.js';
import type { KubeObject } from '../src/runtime/index.js';
import { compare, corpusFiles, mbPerSecond, perSecond, table } from './harness.js';
import type { BenchContext, CorpusFile } from './harness.js';

const MIN_DECODE_MB_S = 5;
const MAX_RATIO_TO_LOADALL = 2;

/** A deterministic multi-document file of `count` objects of a few common kinds. */
export function generatedManifests(count: number): string {
  const docs: string[] = [];
  for (let i = 0; i < count; i++) {
    const name = `app-${i}`;
    const labels = `    app.kubernetes.io/name: ${name}\n    app.kubernetes.io/part-of: shop\n    tier: "${i % 3}"\n`;
    switch (i % 4) {
      case 0:
        docs.push(
          `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${name}\n  namespace: team-${i % 10}\n  labels:\n${labels}` +
            `spec:\n  replicas: ${(i % 5) + 1}\n  selector:\n    matchLabels:\n      app.kubernetes.io/name: ${name}\n` +
            `  template:\n    metadata:\n      labels:\n        app.kubernetes.io/name: ${name}\n    spec:\n` +
            `      containers:\n        - name: main\n          image: registry.example.com/${name}:1.${i % 50}.0\n` +
            `          args: ["--port=8080", "--verbose"]\n          ports:\n            - containerPort: 8080\n` +
            `          resources:\n            limits: {cpu: 500m, memory: 256Mi}\n`,
        );
        break;
      case 1:
        docs.push(
          `apiVersion: v1\nkind: Service\nmetadata:\n  name: ${name}\n  namespace: team-${i % 10}\n  labels:\n${labels}` +
            `spec:\n  selector:\n    app.kubernetes.io/name: ${name}\n  ports:\n    - name: http\n      port: 80\n      targetPort: 8080\n`,
        );
        break;
      case 2:
        docs.push(
          `# settings of ${name}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: team-${i % 10}\n` +
            `data:\n  enabled: "on"\n  mode: "0755"\n  config.yaml: |\n    level: info\n    retries: ${i % 7}\n`,
        );
        break;
      default:
        docs.push(
          `apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: ${name}\n  annotations:\n    note: "widget #${i}"\n` +
            `spec:\n  size: ${i}\n  colors: [red, green, blue]\n  enabled: true\n`,
        );
    }
  }
  return docs.join('---\n');
}

interface Group {
  name: string;
  files: CorpusFile[];
}

export async function run(context: BenchContext): Promise<void> {
  const generated = generatedManifests(10_000);
  const groups: Group[] = [
    { name: 'argo-cd/install.yaml', files: corpusFiles('argo-cd/install.yaml') },
    { name: 'kube-prometheus', files: corpusFiles('kube-prometheus') },
    { name: 'k8s-examples', files: corpusFiles('k8s-examples') },
    {
      name: 'generated 10,000 objects',
      files: [{ file: 'generated.yaml', text: generated, bytes: Buffer.byteLength(generated) }],
    },
  ];
  const decoder = new Decoder();
  const decodeRows: (string | number)[][] = [];
  const encodeRows: (string | number)[][] = [];

  for (const group of groups) {
    const bytes = group.files.reduce((n, f) => n + f.bytes, 0);
    const decodedPerFile = group.files.map((f) => decoder.decodeText(f.text, { file: f.file }).objects);
    const objects = decodedPerFile.reduce((n, o) => n + o.length, 0);
    const errors = group.files.reduce(
      (n, f) => n + decoder.decodeText(f.text, { file: f.file }).errors.length,
      0,
    );

    const decodeTimes = compare(
      {
        decode: () => group.files.forEach((f) => decoder.decodeText(f.text, { file: f.file })),
        manifestFile: () => group.files.forEach((f) => ManifestFile.parse(f.text, { file: f.file, decoder })),
        // Bad files of the corpus make loadAll throw; each file is loaded on its own.
        loadAll: () => group.files.forEach((f) => tryLoadAll(f.text)),
      },
      context.minTimeMs,
    );
    const d = decodeTimes.decode!;
    const m = decodeTimes.manifestFile!;
    const l = decodeTimes.loadAll!;
    const ratio = d.bestMs / l.bestMs;
    decodeRows.push([
      group.name,
      (bytes / 1e6).toFixed(2),
      String(objects),
      String(errors),
      mbPerSecond(bytes, d.bestMs),
      perSecond(objects, d.bestMs).toFixed(0),
      mbPerSecond(bytes, m.bestMs),
      mbPerSecond(bytes, l.bestMs),
      ratio.toFixed(2),
    ]);
    if (group.name === 'argo-cd/install.yaml') {
      const speed = mbPerSecond(bytes, d.bestMs);
      if (speed < MIN_DECODE_MB_S)
        context.fail(`decode of ${group.name} at ${speed.toFixed(1)} MB/s < ${MIN_DECODE_MB_S} MB/s`);
      if (ratio > MAX_RATIO_TO_LOADALL) {
        context.fail(
          `decode of ${group.name} takes ${ratio.toFixed(2)}x js-yaml loadAll (> ${MAX_RATIO_TO_LOADALL}x)`,
        );
      }
    }

    const allObjects: KubeObject[] = decodedPerFile.flat();
    const encoded = encodeYaml(allObjects);
    const encodedBytes = Buffer.byteLength(encoded);
    const dumped = () => allObjects.map((o) => jsYaml.dump(o, { lineWidth: -1 })).join('---\n');
    const dumpBytes = Buffer.byteLength(dumped());
    const encodeTimes = compare({ encode: () => encodeYaml(allObjects), dump: dumped }, context.minTimeMs);
    const e = encodeTimes.encode!;
    const p = encodeTimes.dump!;
    encodeRows.push([
      group.name,
      String(allObjects.length),
      mbPerSecond(encodedBytes, e.bestMs),
      perSecond(allObjects.length, e.bestMs).toFixed(0),
      mbPerSecond(dumpBytes, p.bestMs),
      (e.bestMs / p.bestMs).toFixed(2),
    ]);
  }

  context.log('decode (best of the runs; MB/s of input; ratio = decode time / js-yaml loadAll time)');
  for (const line of table(
    [
      'group',
      'MB',
      'objects',
      'refused',
      'decode MB/s',
      'objects/s',
      'ManifestFile MB/s',
      'loadAll MB/s',
      'ratio',
    ],
    decodeRows,
  )) {
    context.log(line);
  }
  context.log('');
  context.log('encode (MB/s of output; ratio = encodeYaml time / js-yaml dump time)');
  for (const line of table(
    ['group', 'objects', 'encode MB/s', 'objects/s', 'dump MB/s', 'ratio'],
    encodeRows,
  )) {
    context.log(line);
  }
}

function tryLoadAll(text: string): unknown[] {
  try {
    return jsYaml.loadAll(text);
  } catch {
    return [];
  }
}
