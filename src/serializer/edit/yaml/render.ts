/**
 * Writing new YAML values the way the document around them is written: its indentation
 * unit, its sequence style, its quote style. Strings that a YAML 1.1 or 1.2 reader would
 * take for something else (`on`, `0755`, `1.0`, `2024-01-01`) are always quoted.
 */
import { editFailed } from '../errors.js';
import { LineKind } from '../../shared/lines.js';
import type { SourceLines } from '../../shared/lines.js';
import { definedKeys, isPlainObject } from '../values.js';
import type { FieldPath } from '../values.js';
import type { ScalarStyle } from './nodes.js';
import { isAmbiguousPlainString, resolvePlainScalar } from '../../shared/yaml11.js';

export interface RenderStyle {
  /** Spaces per nesting level of maps. */
  readonly indent: number;
  /**
   * `compact`: a list under a key starts with `- ` at the key's column (kubectl's output).
   * `indented`: `- ` one level deeper than the key.
   */
  readonly sequence: 'compact' | 'indented';
  /** Quotes for new strings that need them (single quotes cannot hold every string). */
  readonly quote: 'double' | 'single';
}

/** A value rendered for a block slot: `head` goes after `key:`/`-`, `rest` on the lines below. */
export interface BlockRendering {
  readonly head: string;
  readonly rest: readonly string[];
}

/** Characters YAML cannot hold unescaped (C0/C1 controls except tab and line breaks, ...). */
function isNonPrintable(code: number): boolean {
  return (
    (code < 0x20 && code !== 0x09 && code !== 0x0a && code !== 0x0d) ||
    (code >= 0x7f && code <= 0x9f) ||
    code === 0x2028 ||
    code === 0x2029 ||
    code === 0xfeff ||
    code === 0xfffe ||
    code === 0xffff ||
    (code >= 0xd800 && code <= 0xdfff)
  );
}

function hasNonPrintable(value: string): boolean {
  for (const ch of value) if (isNonPrintable(ch.codePointAt(0) ?? 0)) return true;
  return false;
}

const INDICATOR_START = /^[-?:,[\]{}#&*!|>'"%@`]/;

/** True when `value` can be written without quotes and read back as the same string. */
export function isPlainSafe(value: string, inFlow: boolean): boolean {
  if (value === '' || isAmbiguousPlainString(value)) return false;
  if (hasNonPrintable(value) || /[\t\n\r]/.test(value) || value.trim() !== value) return false;
  if (INDICATOR_START.test(value) && !(value[0] === '-' && value.length > 1 && value[1] !== ' '))
    return false;
  if (/:(?:\s|$)|\s#/.test(value) || value.startsWith('---') || value.startsWith('...')) return false;
  // `<<` is a merge key and `=` the YAML 1.1 value type to some readers.
  if (value === '<<' || value === '=') return false;
  return !(inFlow && /[,[\]{}:]/.test(value));
}

function canSingleQuote(value: string): boolean {
  return !hasNonPrintable(value) && !/[\t\n\r]/.test(value);
}

export function singleQuoted(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

export function doubleQuoted(value: string): string {
  let out = '"';
  for (const ch of value) {
    const code = ch.codePointAt(0) ?? 0;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (isNonPrintable(code)) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

function renderString(value: string, inFlow: boolean, style: RenderStyle, prefer?: ScalarStyle): string {
  if (prefer === 'double') return doubleQuoted(value);
  if (prefer === 'single') return canSingleQuote(value) ? singleQuoted(value) : doubleQuoted(value);
  if (isPlainSafe(value, inFlow)) return value;
  return style.quote === 'single' && canSingleQuote(value) ? singleQuoted(value) : doubleQuoted(value);
}

/** A number as a plain scalar; an octal or hex original keeps its base (file modes stay 0644). */
function renderNumber(value: number, original?: string): string {
  if (Number.isNaN(value)) return '.nan';
  if (value === Infinity) return '.inf';
  if (value === -Infinity) return '-.inf';
  if (original !== undefined && Number.isSafeInteger(value) && value >= 0) {
    let text: string | undefined;
    if (/^0[0-7]+$/.test(original)) text = `0${value.toString(8)}`;
    else if (/^0o[0-7]+$/.test(original)) text = `0o${value.toString(8)}`;
    else if (/^0x[0-9a-fA-F]+$/.test(original)) text = `0x${value.toString(16)}`;
    if (text !== undefined && resolvePlainScalar(text) === value) return text;
  }
  return String(value);
}

/**
 * A scalar value as YAML text. `prefer` keeps the quoting of the value it replaces;
 * `original` is the plain text it replaces (to keep a number's base).
 */
export function renderScalar(
  value: unknown,
  inFlow: boolean,
  style: RenderStyle,
  path: FieldPath,
  prefer?: ScalarStyle,
  original?: string,
): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'number') return renderNumber(value, original);
  // An integer beyond 2^53, exact.
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'string') return renderString(value, inFlow, style, prefer);
  throw editFailed(`a value of type ${describe(value)} cannot be written as YAML`, path);
}

function describe(value: unknown): string {
  if (typeof value !== 'object' || value === null) return typeof value;
  return (value as object).constructor?.name ?? 'object';
}

export function renderKey(key: string, inFlow = false): string {
  return isPlainSafe(key, inFlow) ? key : doubleQuoted(key);
}

/** A value in flow style, on one line: `{a: 1, b: [x, y]}`. */
export function renderFlow(value: unknown, style: RenderStyle, path: FieldPath): string {
  if (Array.isArray(value)) {
    return `[${value.map((item, i) => renderFlow(item ?? null, style, [...path, i])).join(', ')}]`;
  }
  if (isPlainObject(value)) {
    const entries = definedKeys(value).map(
      (key) => `${renderKey(key, true)}: ${renderFlow(value[key], style, [...path, key])}`,
    );
    return `{${entries.join(', ')}}`;
  }
  return renderScalar(value, true, style, path);
}

/**
 * A string as a block scalar (`|`, `|-`, or `>-` for one line when `folded`), content at
 * `column`; undefined when a block scalar cannot hold it exactly (then it gets quotes).
 */
export function renderBlockScalar(
  value: string,
  column: number,
  folded: boolean,
): BlockRendering | undefined {
  if (hasNonPrintable(value) || value.includes('\r')) return undefined;
  let body = value;
  let chomp = '-';
  if (body.endsWith('\n')) {
    // More than one trailing line break needs keep chomping (`|+`); quotes are clearer.
    if (body.endsWith('\n\n')) return undefined;
    body = body.slice(0, -1);
    chomp = '';
  }
  const lines = body.split('\n');
  const firstText = lines.find((line) => line !== '');
  if (firstText === undefined || /^[ \t]/.test(firstText)) return undefined;
  const pad = ' '.repeat(column);
  const rest = lines.map((line) => (line === '' ? '' : pad + line));
  const header = folded && lines.length === 1 ? '>' : '|';
  return { head: header + chomp, rest };
}

/**
 * A value for the slot after `key:` (key at `column`) or after `-` (dash at `column`):
 * scalars inline, maps and lists on the lines below (in a list item, from the dash line on).
 */
export function renderBlockValue(
  value: unknown,
  column: number,
  isItem: boolean,
  style: RenderStyle,
  path: FieldPath,
): BlockRendering {
  const child = isItem ? column + 2 : column + style.indent;
  if (typeof value === 'string' && value.includes('\n')) {
    return renderBlockScalar(value, child, false) ?? { head: doubleQuoted(value), rest: [] };
  }
  if (isPlainObject(value) || Array.isArray(value)) {
    const empty = Array.isArray(value) ? value.length === 0 : definedKeys(value).length === 0;
    if (empty) return { head: Array.isArray(value) ? '[]' : '{}', rest: [] };
    if (isItem) {
      const lines = Array.isArray(value)
        ? seqLines(value, child, style, path)
        : mapLines(value, child, style, path);
      return { head: (lines[0] ?? '').slice(child), rest: lines.slice(1) };
    }
    if (Array.isArray(value)) {
      const seqColumn = style.sequence === 'indented' ? column + style.indent : column;
      return { head: '', rest: seqLines(value, seqColumn, style, path) };
    }
    return { head: '', rest: mapLines(value, child, style, path) };
  }
  return { head: renderScalar(value, false, style, path), rest: [] };
}

function joinHead(prefix: string, rendering: BlockRendering): string[] {
  return [rendering.head === '' ? prefix : `${prefix} ${rendering.head}`, ...rendering.rest];
}

/** The lines of a block map whose keys are at `column`. */
export function mapLines(
  value: Record<string, unknown>,
  column: number,
  style: RenderStyle,
  path: FieldPath,
): string[] {
  const pad = ' '.repeat(column);
  return definedKeys(value).flatMap((key) =>
    joinHead(`${pad}${renderKey(key)}:`, renderBlockValue(value[key], column, false, style, [...path, key])),
  );
}

/** The lines of a block sequence whose dashes are at `column`. */
export function seqLines(
  value: readonly unknown[],
  column: number,
  style: RenderStyle,
  path: FieldPath,
): string[] {
  const pad = ' '.repeat(column);
  return value.flatMap((item, i) =>
    joinHead(`${pad}-`, renderBlockValue(item ?? null, column, true, style, [...path, i])),
  );
}

/** A whole document's content. */
export function rootLines(value: unknown, style: RenderStyle, path: FieldPath): string[] {
  if (isPlainObject(value) && definedKeys(value).length > 0) return mapLines(value, 0, style, path);
  if (Array.isArray(value) && value.length > 0) return seqLines(value, 0, style, path);
  if (typeof value === 'string' && value.includes('\n')) {
    const block = renderBlockScalar(value, style.indent, false);
    if (block) return [block.head, ...block.rest];
  }
  const rendering = renderBlockValue(value, 0, false, style, path);
  return [rendering.head];
}

export interface StyleOverrides {
  indent?: number;
  sequenceStyle?: 'compact' | 'indented';
  quote?: 'double' | 'single';
}

const KEY_LINE_END = /:[ \t]*(?:#.*)?$/;
const ITEM_PREFIX = /^[ ]*(?:-[ ]+)*/;
const MAX_STYLE_SAMPLES = 200;

/**
 * The document's own style: the indentation unit between a key and its nested keys, whether
 * lists under a key are indented, and which quotes it uses. Defaults: 2, compact, double.
 */
export function detectStyle(lines: SourceLines, overrides: StyleOverrides = {}): RenderStyle {
  let compact = 0;
  let indented = 0;
  const units = new Map<number, number>();
  let samples = 0;
  for (let l = 0; l < lines.count && samples < MAX_STYLE_SAMPLES; l++) {
    if (lines.kind(l) !== LineKind.Content) continue;
    const text = lines.textOf(l);
    if (!KEY_LINE_END.test(text)) continue;
    let next = l + 1;
    while (next < lines.count && lines.kind(next) !== LineKind.Content) next++;
    if (next >= lines.count) break;
    const keyColumn = (ITEM_PREFIX.exec(text)?.[0] ?? '').length;
    const indent = lines.indent(next);
    const nextText = lines.textOf(next);
    samples++;
    if (/^[ ]*-(?:[ \t]|$)/.test(nextText)) {
      if (indent === keyColumn) compact++;
      else if (indent > keyColumn) indented++;
    } else if (indent > keyColumn) {
      units.set(indent - keyColumn, (units.get(indent - keyColumn) ?? 0) + 1);
    }
  }
  let unit = 2;
  let best = 0;
  for (const [size, count] of units) {
    if (count > best || (count === best && size < unit)) {
      unit = size;
      best = count;
    }
  }
  return {
    indent: overrides.indent ?? unit,
    sequence: overrides.sequenceStyle ?? (indented > compact ? 'indented' : 'compact'),
    quote: overrides.quote ?? detectQuote(lines.text),
  };
}

function detectQuote(text: string): 'double' | 'single' {
  const sample = text.length > 65536 ? text.slice(0, 65536) : text;
  const doubles = sample.match(/(?::|-)[ ]+"/g)?.length ?? 0;
  const singles = sample.match(/(?::|-)[ ]+'/g)?.length ?? 0;
  return singles > doubles ? 'single' : 'double';
}
