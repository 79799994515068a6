/**
 * Writing new documents. Output is deterministic: objects get the conventional key order
 * (apiVersion, kind, metadata, spec, status, the rest), and any string that a YAML 1.1 reader
 * such as the API server would take for something else (`on`, `0755`, `1e3`) is quoted.
 * Existing documents are never re-encoded: they are edited in place (see ManifestFile).
 */
import type { Document, YAMLSeq } from 'yaml';
import { yaml } from '../shared/yaml-lib.js';
import { ErrorCodes, GitOpsError, isList, isPlainObject, stringifyJson } from '../../runtime/index.js';
import { isAmbiguousPlainString } from '../shared/yaml11.js';

export interface EncodeOptions {
  /** Reorder keys conventionally (the default), or keep each object's own key order. */
  keyOrder?: 'conventional' | 'preserve';
  /** Line ending of the output. Default `\n`. */
  lineEnding?: '\n' | '\r\n';
}

export interface YamlEncodeOptions extends EncodeOptions {
  /** Spaces per level. Default 2. */
  indent?: number;
  /**
   * Indent list items under their key (`key:\n  - a`, the default) or not (`key:\n- a`, as
   * kubectl writes).
   */
  indentSequences?: boolean;
}

export interface JsonEncodeOptions extends EncodeOptions {
  /** Spaces per level; 0 writes each object on one line (NDJSON). Default 2. */
  indent?: number;
}

const TOP_ORDER = ['apiVersion', 'kind', 'metadata', 'spec', 'status'];
const METADATA_ORDER = ['name', 'generateName', 'namespace', 'labels', 'annotations'];

function ordered(obj: Record<string, unknown>, first: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of first) if (Object.hasOwn(obj, key)) out[key] = obj[key];
  for (const key of Object.keys(obj)) if (!first.includes(key)) out[key] = obj[key];
  return out;
}

/**
 * A shallow copy of an object with its keys in the conventional order: apiVersion, kind,
 * metadata (name, generateName, namespace, labels, annotations, then the rest), spec, status,
 * then the others as they were. The items of a List are ordered too.
 */
export function withConventionalKeyOrder<T>(obj: T): T {
  if (!isPlainObject(obj)) return obj;
  const out = ordered(obj, TOP_ORDER);
  if (isPlainObject(out.metadata)) out.metadata = ordered(out.metadata, METADATA_ORDER);
  if (isList(out)) out.items = out.items.map((item) => withConventionalKeyOrder(item));
  return out as T;
}

function toList(objects: unknown): unknown[] {
  return Array.isArray(objects) ? objects : [objects];
}

function checkEncodable(value: unknown, index: number): void {
  if (!isPlainObject(value)) {
    throw new GitOpsError(
      ErrorCodes.BadRequest,
      `only objects can be encoded as documents, item ${index} is not`,
      {
        details: { document: index },
      },
    );
  }
}

/** One object as the text of one YAML document (no `---`), ending in a line ending. */
export function encodeYamlDocument(obj: unknown, options: YamlEncodeOptions = {}): string {
  const value = options.keyOrder === 'preserve' ? obj : withConventionalKeyOrder(obj);
  let doc: Document;
  try {
    doc = new (yaml().Document)(value, { version: '1.2', keepUndefined: false });
  } catch (err) {
    throw new GitOpsError(
      ErrorCodes.BadRequest,
      `cannot encode the object as YAML: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  // Quote every string, key or value (visit reaches keys too), that YAML 1.1 or 1.2 would read as a non-string.
  yaml().visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value === 'string' && isAmbiguousPlainString(node.value))
        node.type = yaml().Scalar.QUOTE_DOUBLE;
    },
  });
  const indent = options.indent ?? 2;
  if (options.indentSequences === false && indent > 2) startSequencesAtKeyColumn(doc);
  const text = doc.toString({
    indent,
    indentSeq: options.indentSequences ?? true,
    lineWidth: 0,
    minContentWidth: 0,
    blockQuote: 'literal',
    nullStr: 'null',
    trueStr: 'true',
    falseStr: 'false',
  });
  return options.lineEnding === '\r\n' ? text.replace(/\n/g, '\r\n') : text;
}

/**
 * A block list that is the value of a key, written with its `- ` at the key's own column
 * whatever the indent. The yaml package outdents such a list by the two characters of `- `
 * only, which is the key's column just when the indent is 2.
 */
let keyColumnSeq: object | undefined;

// Made on first use: the yaml package is loaded lazily (see yaml-lib.ts).
function keyColumnSeqPrototype(): object {
  if (keyColumnSeq === undefined) {
    class KeyColumnSeq extends yaml().YAMLSeq {
      override toString(
        ctx?: Parameters<YAMLSeq['toString']>[0],
        onComment?: () => void,
        onChompKeep?: () => void,
      ): string {
        if (ctx !== undefined && !ctx.inFlow && this.flow !== true) {
          // The pair's value context, shared with the pair: the line break before the first
          // item is indented from it too.
          const extra = ctx.indentStep.length - 2;
          if (extra > 0 && ctx.indent.length >= extra) ctx.indent = ctx.indent.slice(extra);
        }
        return super.toString(ctx, onComment, onChompKeep);
      }
    }
    keyColumnSeq = KeyColumnSeq.prototype;
  }
  return keyColumnSeq;
}

function startSequencesAtKeyColumn(doc: Document): void {
  yaml().visit(doc, {
    Pair(_key, pair) {
      if (yaml().isSeq(pair.value) && pair.value.flow !== true && pair.value.tag === undefined)
        Object.setPrototypeOf(pair.value, keyColumnSeqPrototype());
    },
  });
}

/** Objects as a YAML stream: one document each, joined by `---` lines. */
export function encodeYaml(objects: unknown, options: YamlEncodeOptions = {}): string {
  const eol = options.lineEnding ?? '\n';
  return toList(objects)
    .map((obj, i) => {
      checkEncodable(obj, i);
      return encodeYamlDocument(obj, options);
    })
    .join(`---${eol}`);
}

/** One object as a JSON document, ending in a line ending. */
export function encodeJsonDocument(obj: unknown, options: JsonEncodeOptions = {}): string {
  const value = options.keyOrder === 'preserve' ? obj : withConventionalKeyOrder(obj);
  const indent = options.indent ?? 2;
  let text: string;
  try {
    text = stringifyJson(value, indent === 0 ? undefined : indent);
  } catch (err) {
    throw new GitOpsError(
      ErrorCodes.BadRequest,
      `cannot encode the object as JSON: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  const eol = options.lineEnding ?? '\n';
  return (eol === '\r\n' ? text.replace(/\n/g, '\r\n') : text) + eol;
}

/** Objects as JSON: one value each, one after the other (one per line with `indent: 0`). */
export function encodeJson(objects: unknown, options: JsonEncodeOptions = {}): string {
  return toList(objects)
    .map((obj, i) => {
      checkEncodable(obj, i);
      return encodeJsonDocument(obj, options);
    })
    .join('');
}
