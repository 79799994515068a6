/** `gitops fmt`: normalise manifest files through the serializer, keeping their comments. */
import { dirname } from 'node:path';
import {
  Decoder,
  contentTypeOf,
  formatJsonDocument,
  formatYamlDocument,
  sniffContentType,
  splitFrames,
} from '../serializer/index.js';
import { ErrorCodes, GitOpsError } from '../runtime/index.js';
import { writeFileAtomic } from '../storage/index.js';
import { collectManifestFiles, notManifestReason, readManifestFile } from './files.js';
import type { Output } from './report.js';
import { reportError } from './report.js';

export interface FmtOptions {
  check: boolean;
}

/** The normalised text of a file, or the problems that keep it from being normalised. */
export function formatManifestText(text: string, file: string): string {
  const contentType = contentTypeOf(file) ?? sniffContentType(text) ?? 'yaml';
  // Refuse what the decoder refuses, so that fmt never rewrites a broken file.
  // A missing name is no reason to leave a file unformatted: a kustomization.yaml has none. Files
  // that hold no objects at all (Helm values, Chart.yaml, .sops.yaml) need only be good YAML.
  const plainYaml = notManifestReason(file) !== undefined;
  const objectOnly = new Set<string>([
    ErrorCodes.MissingName,
    ErrorCodes.MissingApiVersion,
    ErrorCodes.MissingKind,
  ]);
  const errors = new Decoder({ file, strict: true })
    .decodeText(text, { contentType })
    .errors.filter((e) => e.code !== ErrorCodes.MissingName && !(plainYaml && objectOnly.has(e.code)));
  if (errors.length > 0) {
    throw new GitOpsError(ErrorCodes.Invalid, `${file} has problems`, {
      details: { file },
      causes: errors,
    });
  }
  let out = '';
  for (const frame of splitFrames(text, { contentType, file })) {
    if (contentType === 'json') {
      // The whitespace around JSON values is not content: each value is written on its own
      // lines ending in one newline, so formatting formatted text changes nothing.
      if (frame.text.trim() !== '') out += formatJsonDocument(frame.text);
      continue;
    }
    out += frame.separator + formatYamlDocument(frame.text) + frame.terminator;
  }
  return out;
}

/** Returns the exit code: 0 all well, 1 a file has problems or (with --check) would change. */
export async function runFmt(paths: readonly string[], options: FmtOptions, output: Output): Promise<number> {
  let failed = false;
  for (const file of await collectManifestFiles(paths)) {
    // kustomize's, Helm's and sops' files are YAML too: formatted like the rest (Prettier leaves
    // YAML to fmt), though validate skips them as they hold no objects.
    try {
      const text = await readManifestFile(file);
      const formatted = formatManifestText(text, file);
      if (formatted === text) continue;
      if (options.check) {
        output.err(`${file}: would be reformatted`);
        failed = true;
        continue;
      }
      // Written beside the file and renamed, so a crash never leaves half a file; the mode stays.
      await writeFileAtomic(file, formatted, dirname(file));
      output.out(`${file}: formatted`);
    } catch (err) {
      reportError(output, err, file);
      failed = true;
    }
  }
  return failed ? 1 : 0;
}
