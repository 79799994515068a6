/**
 * Where things are in a document's text: the one place that turns an offset into a line and
 * a column, and a field path into the position of that field. The decoder places its errors
 * with it and the editors place theirs; both read the document through the same views the
 * editors edit (edit/yaml/nodes.ts for YAML, json-tree.ts for JSON).
 */
import { ErrorCodes, isGitOpsError } from '../../runtime/index.js';
import type { FieldPathSegment } from '../../runtime/index.js';
import { readJsonTree } from './json-tree.js';
import type { JsonNode } from './json-tree.js';
import { SourceLines } from './lines.js';
import { nodeFromAst } from '../edit/yaml/nodes.js';
import { BlockScanner } from '../edit/yaml/scan.js';
import type { YamlNode } from '../edit/yaml/nodes.js';
import type { ContentType } from '../frames/frames.js';
import { yaml } from './yaml-lib.js';

/** A place in a text: its offset, and its 1-based line and column. */
export interface TextPosition {
  readonly offset: number;
  readonly line: number;
  readonly column: number;
}

/** Where a field is written, or the deepest part of its path that is. */
export interface FieldPosition extends TextPosition {
  /** How many segments of the path were found in the text. */
  readonly found: number;
}

export interface LocateOptions {
  /** Point at the field's key (an unknown or duplicate field) rather than its value. Default 'value'. */
  prefer?: 'key' | 'value';
  /** The text's line table, when the caller has one. */
  lines?: SourceLines;
  /** The document's root view, when the caller has one (an editor does). */
  root?: YamlNode | JsonNode | null;
}

/** The 1-based line and column of `offset` in the text of `lines` (a BOM takes a column). */
export function positionAt(lines: SourceLines, offset: number): TextPosition {
  return lines.position(offset);
}

/**
 * The views of a document: the JSON tree, or the YAML nodes as the `yaml` package reads them
 * (any text it can make a tree of, errors or not). Null for a text with no value, or one whose
 * shape the views do not cover (a key that is itself a map).
 */
export function documentRoot(
  text: string,
  contentType: ContentType,
  lines: SourceLines,
): YamlNode | JsonNode | null {
  if (contentType === 'json') return readJsonTree(text).root ?? null;
  try {
    const doc = yaml().parseDocument(text, { keepSourceTokens: true, uniqueKeys: false, version: '1.1' });
    return nodeFromAst(doc.contents, { lines, toSource: (offset) => offset });
  } catch {
    return null;
  }
}

/**
 * Where the field at `segments` is written in `text`: at its value (or its key, with
 * `prefer: 'key'`), or, when only part of the path is written, at the deepest part that is.
 * A YAML alias on the way is followed to its anchor.
 */
export function locateField(
  text: string,
  contentType: ContentType,
  segments: readonly FieldPathSegment[],
  options: LocateOptions = {},
): FieldPosition {
  const lines = options.lines ?? new SourceLines(text);
  if (options.root === undefined)
    return new FieldLocator(text, contentType, lines).locate(segments, options.prefer);
  const { offset, found } = walk(text, options.root, segments, options.prefer === 'key');
  return { ...positionAt(lines, offset), found };
}

/**
 * Finds fields in one document, many times. A YAML document is read by the editor's lazy block
 * scanner, which reads only the lines on a field's path; where the scanner cannot read the
 * text (flow collections at the root, a text the `yaml` package reads with errors...) it
 * falls back, once, to the `yaml` package's whole parse. Both place every node alike
 * (test/serializer/edit/yaml/scan.test.ts).
 */
export class FieldLocator {
  #fast: View | null | undefined;
  #full: View | null | undefined;
  #fastFailed = false;

  constructor(
    readonly text: string,
    readonly contentType: ContentType,
    readonly lines: SourceLines,
  ) {}

  /** True once the document is read by the `yaml` package (JSON always is, by the JSON tree). */
  get usesFullParse(): boolean {
    return this.contentType === 'json' || this.#fastFailed;
  }

  locate(segments: readonly FieldPathSegment[], prefer: 'key' | 'value' = 'value'): FieldPosition {
    const preferKey = prefer === 'key';
    if (this.contentType !== 'json' && !this.#fastFailed) {
      try {
        if (this.#fast === undefined) this.#fast = new BlockScanner(this.lines).root();
        const { offset, found } = walk(this.text, this.#fast, segments, preferKey);
        return { ...positionAt(this.lines, offset), found };
      } catch {
        this.#fastFailed = true;
      }
    }
    if (this.#full === undefined) this.#full = documentRoot(this.text, this.contentType, this.lines);
    const { offset, found } = walk(this.text, this.#full, segments, preferKey);
    return { ...positionAt(this.lines, offset), found };
  }
}

type View = YamlNode | JsonNode;

/** A step down: the child's view, where its key is and where its value would be when empty. */
interface Step {
  child: View | null;
  keyOffset?: number;
  emptyAt: number;
}

function walk(
  text: string,
  root: View | null,
  segments: readonly FieldPathSegment[],
  preferKey: boolean,
): { offset: number; found: number } {
  let offset = root !== null ? root.start : firstContentOffset(text);
  let node = root;
  let found = 0;
  for (const segment of segments) {
    if (node === null) break;
    if (node.kind === 'alias') node = anchorOf(root, node.name, node.start) ?? node;
    const step = stepInto(text, node, segment);
    if (step === undefined) break;
    found++;
    if (step.keyOffset !== undefined && preferKey) offset = step.keyOffset;
    else offset = step.child?.start ?? step.emptyAt;
    node = step.child;
  }
  return { offset, found };
}

function stepInto(text: string, node: View, segment: FieldPathSegment): Step | undefined {
  if (node.kind === 'object' && typeof segment === 'string') {
    const member = node.members.find((m) => m.key === segment);
    return member && { child: member.value, keyOffset: member.keyStart, emptyAt: member.value.start };
  }
  if (node.kind === 'array' && typeof segment === 'number') {
    const item = node.items[segment];
    return item && { child: item, emptyAt: item.start };
  }
  if (node.kind === 'map' && typeof segment === 'string') {
    const pair = node.pairs().find((p) => p.key === segment);
    // An empty value is where the `yaml` package places it: after the colon and its blanks.
    return pair && { child: pair.value, keyOffset: pair.keyStart, emptyAt: skipBlanks(text, pair.colonEnd) };
  }
  if (node.kind === 'seq' && typeof segment === 'number') {
    const item = node.items()[segment];
    if (item === undefined) return undefined;
    // An empty item is not the key of anything: it is placed after its dash.
    return { child: item.node, emptyAt: skipBlanks(text, item.indicatorEnd) };
  }
  return undefined;
}

/** The node anchored as `name` last before `before`: what an alias there stands for. */
function anchorOf(root: View | null, name: string, before: number): YamlNode | undefined {
  let found: YamlNode | undefined;
  const visit = (node: View | null): void => {
    if (node === null || node.start >= before) return;
    if (node.kind === 'map' || node.kind === 'seq' || node.kind === 'scalar') {
      if (node.anchor === name) found = node;
    }
    if (node.kind === 'map') for (const pair of node.pairs()) visit(pair.value);
    else if (node.kind === 'seq') for (const item of node.items()) visit(item.node);
  };
  visit(root);
  return found;
}

function skipBlanks(text: string, at: number): number {
  while (text[at] === ' ') at++;
  return at;
}

/** After leading blank and comment lines (where a document's content starts). */
export function firstContentOffset(text: string): number {
  const match = /^(?:[ \t]*(?:#.*)?\r?\n)*[ \t]*/.exec(text);
  return match === null ? 0 : match[0].length;
}

/**
 * An editor's EditFailed placed in the document it was editing: the line and column of its
 * field (or of the deepest part of the field's path that the text holds), when the error
 * has a field and no position yet. Anything else is returned as it is.
 */
export function placeEditError(
  err: unknown,
  text: string,
  contentType: ContentType,
  options: LocateOptions = {},
): unknown {
  if (!isGitOpsError(err, ErrorCodes.EditFailed)) return err;
  const segments = err.details.fieldSegments;
  if (err.details.line !== undefined || !Array.isArray(segments)) return err;
  try {
    const { line, column } = locateField(text, contentType, segments as FieldPathSegment[], options);
    return err.withDetails({ line, column });
  } catch {
    return err;
  }
}
