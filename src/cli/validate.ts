/**
 * `gitops validate`: decode strictly, register the CRDs found, validate every object against its
 * CRD or (built-in kinds) the bundled schemas of `--kube-version`, list them. Objects of kinds
 * with no schema at hand (a custom resource whose CRD is not among the files) get the checks of
 * every object (apiVersion, kind, metadata) and a note saying so, once per kind.
 */
import { relative } from 'node:path';
import { stringify } from 'yaml';
import {
  ErrorCodes,
  GitOpsError,
  DEFAULT_KUBE_VERSION,
  Scheme,
  flattenProblems,
  formatApiVersion,
  gvkOf,
  stringifyJson,
  toGitOpsError,
} from '../runtime/index.js';
import type { FieldPathSegment, KubeObject } from '../runtime/index.js';
import { Decoder, FrameLocator, contentTypeOf, sniffContentType } from '../serializer/index.js';
import type { DecodedDocument } from '../serializer/index.js';
import { APPLICATION_GROUP, APPLICATION_KIND, applicationCrd } from '../operator/index.js';
import { collectManifestFiles, notManifestReason, readManifestFile } from './files.js';
import type { Output } from './report.js';
import { reportError } from './report.js';

export interface ValidateOptions {
  crd: string[];
  /** Kubernetes minor version of the built-in kinds' schemas (default the newest bundled). */
  kubeVersion?: string;
  output: 'table' | 'json' | 'yaml' | 'name';
}

interface Located {
  object: KubeObject;
  file: string;
  line: number;
}

function isCRD(obj: KubeObject): boolean {
  return obj.kind === 'CustomResourceDefinition' && obj.apiVersion.startsWith('apiextensions.k8s.io/');
}

export async function runValidate(
  paths: readonly string[],
  options: ValidateOptions,
  output: Output,
): Promise<number> {
  let problems = 0;
  let scheme: Scheme;
  try {
    scheme = new Scheme({ kubeVersion: options.kubeVersion ?? DEFAULT_KUBE_VERSION });
  } catch (err) {
    reportError(output, err);
    return 1;
  }
  const texts = new Map<string, string>();
  const files: string[] = [];
  for (const file of await collectManifestFiles(paths)) {
    const reason = notManifestReason(file);
    if (reason === undefined) files.push(file);
    else output.err(`${file}: skipped: ${reason}`);
  }
  for (const file of [...options.crd, ...files]) {
    try {
      if (!texts.has(file)) texts.set(file, await readManifestFile(file));
    } catch (err) {
      problems += reportError(output, err, file);
    }
  }

  // First pass, lenient: find the CustomResourceDefinitions so their kinds validate strictly.
  const lenient = new Decoder({ strict: false });
  const crdFiles = new Set(options.crd);
  const listed = new Set(files);
  for (const [file, text] of texts) {
    const decoded = lenient.decodeText(text, {
      file,
      contentType: contentTypeOf(file) ?? sniffContentType(text),
    });
    // A --crd file outside the paths has no second pass: its broken documents are told here.
    if (!listed.has(file)) for (const error of decoded.errors) problems += reportError(output, error, file);
    for (const { object, prefix, doc } of objectsOf(decoded.documents)) {
      if (!isCRD(object)) {
        if (crdFiles.has(file)) {
          problems += reportError(
            output,
            new GitOpsError(
              ErrorCodes.Invalid,
              `--crd file holds a ${object.kind}, not a CustomResourceDefinition`,
              { details: { line: doc.frame.startLine, column: doc.frame.startColumn } },
            ),
            file,
          );
        }
        continue;
      }
      try {
        scheme.registerCRD(object);
      } catch (err) {
        // Each problem at the line and column of its field in the CRD's document.
        const locator = new FrameLocator(doc.frame, file);
        for (const problem of flattenProblems(toGitOpsError(err)))
          problems += reportError(output, locator.place(problem, prefix, undefined), file);
      }
    }
  }

  // The project's own Application kind is always known; a CRD of it among the files wins.
  if (scheme.lookupKind(APPLICATION_GROUP, APPLICATION_KIND) === undefined)
    scheme.registerCRD(applicationCrd());

  const strict = new Decoder({ strict: true, scheme });
  const found: Located[] = [];
  for (const file of files) {
    const text = texts.get(file);
    if (text === undefined) continue;
    const decoded = strict.decodeText(text, {
      file,
      contentType: contentTypeOf(file) ?? sniffContentType(text),
    });
    for (const error of decoded.errors) problems += reportError(output, error, file);
    for (const doc of decoded.documents) {
      for (const object of doc.objects) found.push({ object, file, line: doc.frame.startLine });
    }
  }
  noteUnknownKinds(scheme, found, output);

  printObjects(found, options.output, output);
  if (problems > 0) output.err(`${problems} problem${problems === 1 ? '' : 's'} in ${files.length} files`);
  return problems > 0 ? 1 : 0;
}

/** One note per kind that had no schema at hand, at its first object, with how many there were. */
function noteUnknownKinds(scheme: Scheme, found: readonly Located[], output: Output): void {
  const unknown = new Map<string, { first: Located; count: number }>();
  for (const located of found) {
    const gvk = gvkOf(located.object);
    if (scheme.knows(gvk)) continue;
    const id = `${located.object.kind} ${formatApiVersion(gvk)}`;
    const seen = unknown.get(id);
    if (seen === undefined) unknown.set(id, { first: located, count: 1 });
    else seen.count++;
  }
  for (const [id, { first, count }] of unknown) {
    output.err(
      `${first.file}:${first.line}: note: no schema for ${id} (give its CustomResourceDefinition ` +
        `among the files or with --crd); only apiVersion, kind and metadata of its ` +
        `${count === 1 ? 'object were' : `${count} objects were`} checked`,
    );
  }
}

/** Every object of the documents, with the field path of its place in the document. */
function objectsOf(
  documents: readonly DecodedDocument[],
): { object: KubeObject; prefix: FieldPathSegment[]; doc: DecodedDocument }[] {
  return documents.flatMap((doc) =>
    doc.objects.map((object, i) => ({ object, prefix: doc.isList ? ['items', i] : [], doc })),
  );
}

function printObjects(found: Located[], format: ValidateOptions['output'], output: Output): void {
  const list = { apiVersion: 'v1', kind: 'List', items: found.map((f) => f.object) };
  if (format === 'json') {
    output.out(stringifyJson(list, 2));
    return;
  }
  if (format === 'yaml') {
    output.out(stringify(list).trimEnd());
    return;
  }
  if (format === 'name') {
    for (const { object } of found) output.out(`${object.kind.toLowerCase()}/${object.metadata.name}`);
    return;
  }
  const rows = found.map(({ object, file, line }) => {
    const gvk = gvkOf(object);
    return [
      gvk.group === '' ? object.kind : `${object.kind}.${gvk.group}`,
      object.metadata.namespace ?? '',
      object.metadata.name ?? `${object.metadata.generateName ?? ''}*`,
      `${relative(process.cwd(), file) || file}:${line}`,
    ];
  });
  const header = ['KIND', 'NAMESPACE', 'NAME', 'FILE'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  for (const row of [header, ...rows])
    output.out(
      row
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('   ')
        .trimEnd(),
    );
}
