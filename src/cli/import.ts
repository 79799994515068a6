/**
 * `gitops import FILE...`: prints our Applications for the Argo CD and Flux objects in the files,
 * each with a comment for every field not carried over (see operator/import.ts).
 */
import { readFile } from 'node:fs/promises';
import { stringify } from 'yaml';

import type { KubeObject } from '../runtime/index.js';
import { Decoder } from '../serializer/index.js';
import { importApplications } from '../operator/index.js';
import { collectManifestFiles } from './files.js';
import type { Output } from './report.js';
import { reportError } from './report.js';

/** 0: printed; 1: a file could not be read or held nothing to import. */
export async function runImport(paths: readonly string[], output: Output): Promise<number> {
  const decoder = new Decoder({ strict: false, unknownKinds: 'unstructured' });
  const objects: KubeObject[] = [];
  let problems = 0;
  let files: string[];
  try {
    files = await collectManifestFiles(paths);
  } catch (err) {
    reportError(output, err);
    return 1;
  }
  for (const file of files) {
    try {
      const result = decoder.decodeText(await readFile(file, 'utf8'), { file });
      for (const e of result.errors) problems += reportError(output, e, file);
      objects.push(...result.objects);
    } catch (err) {
      problems += reportError(output, err, file);
    }
  }
  const { applications, ignored } = importApplications(objects);
  for (const line of ignored) output.err(`skipped: ${line}`);
  const docs = applications.map((a) => {
    const lines = [`# from ${a.from}`];
    if (a.notCarried.length === 0) lines.push('# every field was carried over');
    else lines.push('# not carried over:', ...a.notCarried.map((l) => `#   ${l}`));
    return `${lines.join('\n')}\n${stringify(a.application)}`;
  });
  if (docs.length > 0) output.out(docs.join('---\n').trimEnd());
  if (applications.length === 0) {
    output.err('nothing to import: no Argo CD Application, Flux Kustomization or HelmRelease in the files');
    return 1;
  }
  return problems > 0 ? 1 : 0;
}
