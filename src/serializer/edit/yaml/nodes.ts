/**
 * Where each node of a YAML document is in its source text. The editor works on these views
 * and splices the text; it never re-stringifies. Views come from two places: the fast line
 * scanner (scan.ts) for block structure, and the `yaml` package's AST (here) for
 * everything else (flow collections, multi-line scalars, anchors), for a whole document or
 * for one small region the scanner hands over.
 */
import { yaml } from '../../shared/yaml-lib.js';
import type { Node as AstNode, Pair as AstPair, Scalar as AstScalar } from 'yaml';
import { editFailed } from '../errors.js';
import type { SourceLines } from '../../shared/lines.js';
import { resolvePlainScalar } from '../../shared/yaml11.js';

export type ScalarStyle = 'plain' | 'single' | 'double' | 'literal' | 'folded';

interface NodeBase {
  /** Offset of the node's first character (after any anchor or tag). */
  readonly start: number;
  /** Offset after its last character: never past a line ending, never a trailing comment. */
  readonly end: number;
  readonly anchor?: string;
  readonly tagged?: boolean;
}

export interface ScalarNode extends NodeBase {
  readonly kind: 'scalar';
  readonly style: ScalarStyle;
  readonly inFlow: boolean;
}

export interface AliasNode extends NodeBase {
  readonly kind: 'alias';
  readonly name: string;
  readonly inFlow: boolean;
}

export interface MapNode extends NodeBase {
  readonly kind: 'map';
  readonly flow: boolean;
  readonly inFlow: boolean;
  pairs(): readonly PairEntry[];
}

export interface SeqNode extends NodeBase {
  readonly kind: 'seq';
  readonly flow: boolean;
  readonly inFlow: boolean;
  items(): readonly ItemEntry[];
}

export type YamlNode = ScalarNode | AliasNode | MapNode | SeqNode;

export interface PairEntry {
  /** The key as the decoder sees it (`String` of the resolved plain scalar). */
  readonly key: string;
  readonly keyStart: number;
  /** Offset just after the `:`. */
  readonly colonEnd: number;
  /** Null for an empty value (`key:`). */
  readonly value: YamlNode | null;
  /** Block: end of the pair's last content line (inline comment included). Flow: value end. */
  readonly end: number;
}

export interface ItemEntry {
  /** Block: offset of the `-`. Flow: offset of the item. */
  readonly start: number;
  /** Block: offset just after the `-`. */
  readonly indicatorEnd: number;
  readonly node: YamlNode | null;
  /** Block: end of the item's last content line. Flow: item end. */
  readonly end: number;
}

/** The key string a plain/quoted scalar key decodes to, as js-yaml turns keys into strings. */
export function keyString(style: ScalarStyle, text: string): string {
  return style === 'plain' ? String(resolvePlainScalar(text)) : text;
}

interface AstContext {
  readonly lines: SourceLines;
  /** Maps an offset in the parsed text to an offset in the document source. */
  readonly toSource: (offset: number) => number;
}

const STYLES: Record<string, ScalarStyle> = {
  PLAIN: 'plain',
  QUOTE_SINGLE: 'single',
  QUOTE_DOUBLE: 'double',
  BLOCK_LITERAL: 'literal',
  BLOCK_FOLDED: 'folded',
};

interface SourceToken {
  type: string;
  offset: number;
}

function tokenOffset(tokens: readonly SourceToken[] | undefined, type: string): number | undefined {
  return tokens?.find((token) => token.type === type)?.offset;
}

/** End of the line holding `offset` (views never end past a line break, so that is theirs). */
function lineEndAt(lines: SourceLines, offset: number): number {
  return lines.contentEnd(lines.lineOf(offset));
}

export const KEEP_CHOMPING = /^[|>](?:[1-9]?\+|\+[1-9]?)/;

function scalarView(node: AstScalar, ctx: AstContext, inFlow: boolean): ScalarNode | null {
  const [rawStart, rawEnd] = node.range ?? [0, 0];
  const style = STYLES[node.type ?? 'PLAIN'] ?? 'plain';
  const empty = style === 'plain' && node.source === '' && node.value === null;
  if (empty && node.tag === undefined && node.anchor === undefined) return null;
  const start = ctx.toSource(rawStart);
  let end = ctx.toSource(rawEnd);
  if (style === 'literal' || style === 'folded') {
    const text = ctx.lines.text;
    if (KEEP_CHOMPING.test(text.slice(start, start + 4))) {
      // Keep chomping: trailing blank lines are content; stop before the last line ending.
      if (text[end - 1] === '\n') end--;
      if (text[end - 1] === '\r') end--;
    } else {
      while (end > start && /\s/.test(text[end - 1] ?? '')) end--;
      end = ctx.lines.contentEnd(ctx.lines.lineOf(end));
    }
  }
  return {
    kind: 'scalar',
    style,
    inFlow,
    start,
    end,
    ...(node.anchor === undefined ? {} : { anchor: node.anchor }),
    ...(node.tag === undefined ? {} : { tagged: true }),
  };
}

/** The view of a `yaml` AST node, offsets mapped back to the document source. */
export function nodeFromAst(node: unknown, ctx: AstContext, inFlow = false): YamlNode | null {
  if (node === null || node === undefined) return null;
  if (yaml().isScalar(node)) return scalarView(node, ctx, inFlow);
  const ast = node as AstNode;
  const [rawStart, rawEnd] = ast.range ?? [0, 0];
  const start = ctx.toSource(rawStart);
  const anchor = yaml().isAlias(node) ? undefined : (ast as { anchor?: string }).anchor;
  const props = {
    ...(anchor === undefined ? {} : { anchor }),
    ...((ast as { tag?: string }).tag === undefined ? {} : { tagged: true }),
  };
  if (yaml().isAlias(node)) {
    return { kind: 'alias', name: node.source, inFlow, start, end: ctx.toSource(rawEnd) };
  }
  if (yaml().isMap(node)) {
    const flow = node.flow === true;
    const pairs = node.items.map((pair) => pairFromAst(pair, ctx, flow || inFlow));
    const end = flow ? ctx.toSource(rawEnd) : (pairs.at(-1)?.end ?? start);
    return { kind: 'map', flow, inFlow, start, end, pairs: () => pairs, ...props };
  }
  if (yaml().isSeq(node)) {
    const flow = node.flow === true;
    const blockItems = (node.srcToken as { items?: Array<{ start: SourceToken[] }> } | undefined)?.items;
    const items = node.items.map((item, index): ItemEntry => {
      if (yaml().isPair(item))
        throw editFailed('a sequence item written as a single pair is not supported', []);
      const view = nodeFromAst(item, ctx, flow || inFlow);
      if (flow) {
        const at = view?.start ?? start;
        return { start: at, indicatorEnd: at, node: view, end: view?.end ?? at };
      }
      const dash = tokenOffset(blockItems?.[index]?.start, 'seq-item-ind');
      if (dash === undefined) throw editFailed('cannot locate a sequence item', []);
      const dashStart = ctx.toSource(dash);
      const last = Math.max(dashStart + 1, view?.end ?? 0);
      return { start: dashStart, indicatorEnd: dashStart + 1, node: view, end: lineEndAt(ctx.lines, last) };
    });
    const end = flow ? ctx.toSource(rawEnd) : (items.at(-1)?.end ?? start);
    return { kind: 'seq', flow, inFlow, start, end, items: () => items, ...props };
  }
  throw editFailed('unsupported YAML node', []);
}

function pairFromAst(pair: AstPair, ctx: AstContext, inFlow: boolean): PairEntry {
  const key = pair.key;
  if (!yaml().isScalar(key) || !key.range) throw editFailed('only scalar map keys can be edited', []);
  const style = STYLES[key.type ?? 'PLAIN'] ?? 'plain';
  const text = style === 'plain' ? (key.source ?? String(key.value)) : String(key.value);
  const keyStart = ctx.toSource(key.range[0]);
  const sep = (pair.srcToken as { sep?: SourceToken[] } | undefined)?.sep;
  const colon = tokenOffset(sep, 'map-value-ind');
  if (colon === undefined) throw editFailed(`the key ${JSON.stringify(text)} has no ':'`, []);
  const colonEnd = ctx.toSource(colon) + 1;
  const value = nodeFromAst(pair.value, ctx, inFlow);
  const end = inFlow ? (value?.end ?? colonEnd) : lineEndAt(ctx.lines, Math.max(colonEnd, value?.end ?? 0));
  return { key: keyString(style, text), keyStart, colonEnd, value, end };
}

/** Parses `text` (a whole document, or a padded region of one) with the `yaml` package. */
export function parseRegion(text: string): unknown {
  const doc = yaml().parseDocument(text, { keepSourceTokens: true, uniqueKeys: false });
  if (doc.errors.length > 0) {
    const [error] = doc.errors;
    throw editFailed(`the YAML does not parse: ${error?.message}`, [], {
      line: error?.linePos?.[0].line,
      column: error?.linePos?.[0].col,
    });
  }
  return doc.contents;
}
