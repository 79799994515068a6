/**
 * The normal form `gitops fmt` writes. For YAML:
 * - 2-space indentation; a list under a key starts with `- ` at the key's own column, as
 *   `kubectl get -o yaml` writes it:
 *       containers:
 *       - name: app
 * - comments and blank lines between entries kept; flow collections stay flow (`[a, b]`);
 * - a string that a YAML 1.1 or 1.2 reader would take for something else is double-quoted
 *   (`"on"`, `"0755"`, `"2024-01-01"`); every other scalar keeps its text and quoting, so
 *   `0755` stays the octal number Kubernetes reads;
 * - long lines are never folded; LF line endings, no trailing spaces, one final newline.
 * For JSON: 2-space indentation, `": "`, empty containers as `{}`/`[]`, numbers and strings
 * exactly as written, one final newline.
 * Both are idempotent: formatting formatted text gives the same text.
 */
import jsYaml from 'js-yaml';
import { yaml } from '../shared/yaml-lib.js';
import { ErrorCodes, GitOpsError } from '../../runtime/index.js';
import { parseJsonTree } from '../shared/json-tree.js';
import type { JsonNode } from '../shared/json-tree.js';
import { deepEqual } from '../edit/values.js';
import { isAmbiguousPlainString, KUBE_YAML_SCHEMA, resolvePlainScalar } from '../shared/yaml11.js';

/** Formats one YAML document (no `---` lines) into the normal form. */
export function formatYamlDocument(source: string): string {
  const normalized = source.replace(/\r\n/g, '\n');
  // The failsafe schema reads every plain scalar as its own text, so nothing is re-typed:
  // `0755`, `on` and `1.0` are written back exactly as they were.
  const doc = yaml().parseDocument(normalized, { schema: 'failsafe', uniqueKeys: false });
  const [error] = doc.errors;
  if (error !== undefined) {
    throw new GitOpsError(ErrorCodes.YamlSyntax, `cannot format: ${error.message}`, {
      details: { line: error.linePos?.[0].line, column: error.linePos?.[0].col },
      cause: error,
    });
  }
  if (doc.contents === null) return tidy(normalized);
  yaml().visit(doc, {
    Scalar(key, node) {
      if (key === 'key' || node.type !== 'PLAIN' || typeof node.value !== 'string') return;
      const text = node.value;
      // A plain scalar that Kubernetes reads as a string but another reader might not.
      if (text !== '' && resolvePlainScalar(text) === text && isAmbiguousPlainString(text)) {
        node.type = 'QUOTE_DOUBLE';
      }
    },
  });
  const written = doc.toString({
    indent: 2,
    indentSeq: false,
    lineWidth: 0,
    minContentWidth: 0,
    flowCollectionPadding: false,
  });
  // Trailing spaces and extra final newlines can be content of a block scalar: tidy only
  // when the value stays the same.
  const tidied = tidy(written);
  if (tidied === written) return tidied;
  const original = decodeOrUndefined(normalized);
  return original === undefined || deepEqual(original.value, decodeOrUndefined(tidied)?.value)
    ? tidied
    : written;
}

/** No trailing spaces, exactly one final newline. */
function tidy(text: string): string {
  return `${text.replace(/[ \t]+$/gm, '').replace(/\n*$/, '')}\n`;
}

function decodeOrUndefined(text: string): { value: unknown } | undefined {
  try {
    return { value: jsYaml.load(text, { schema: KUBE_YAML_SCHEMA }) };
  } catch {
    return undefined;
  }
}

/** Formats one JSON document into the normal form; throws JsonSyntax on invalid JSON. */
export function formatJsonDocument(source: string): string {
  const root = parseJsonTree(source);
  return `${formatJsonNode(source, root, '')}\n`;
}

function formatJsonNode(source: string, node: JsonNode, indent: string): string {
  if (node.kind === 'value') return source.slice(node.start, node.end);
  const inner = `${indent}  `;
  if (node.kind === 'array') {
    if (node.items.length === 0) return '[]';
    const items = node.items.map((item) => inner + formatJsonNode(source, item, inner));
    return `[\n${items.join(',\n')}\n${indent}]`;
  }
  if (node.members.length === 0) return '{}';
  const members = node.members.map(
    (member) =>
      `${inner}${source.slice(member.keyStart, member.keyEnd)}: ${formatJsonNode(source, member.value, inner)}`,
  );
  return `{\n${members.join(',\n')}\n${indent}}`;
}
