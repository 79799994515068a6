/**
 * The lossless JSON editor: only the changed members' text changes. Key order, the
 * document's indentation (2 or 4 spaces, tabs, or minified on one line), its separators, its
 * line endings and its trailing newline stay; untouched numbers stay as written.
 *
 * - New members go after the object's last member, in the order of `after`.
 * - A removed member takes its separator with it.
 * - Arrays are matched like YAML lists (edit/sequence.ts): merge keys, else content.
 * - A container laid out on one line inside a pretty document stays on one line.
 * - The result is parsed again and compared with `after`; EditFailed names the field if not.
 */
import { parseJsonExact } from '../../../runtime/index.js';
import { editFailed } from '../errors.js';
import { applySplices } from '../splices.js';
import type { Splice } from '../splices.js';
import { SourceLines } from '../../shared/lines.js';
import { insertedRuns, matchSequence } from '../sequence.js';
import { definedKeys, firstDifference, formatPath, isPlainObject, memoizedDeepEqual } from '../values.js';
import type { FieldPath } from '../values.js';
import { parseJsonTree } from '../../shared/json-tree.js';
import { placeEditError } from '../../shared/locate.js';
import type { JsonArray, JsonNode, JsonObject } from '../../shared/json-tree.js';

export interface JsonEditResult {
  text: string;
}

interface JsonStyle {
  /** Whether the document spreads containers over lines. */
  readonly pretty: boolean;
  /** One level of indentation (two or four spaces, or a tab). */
  readonly unit: string;
  readonly colon: string;
  /** Between members of a container written on one line. */
  readonly comma: string;
  readonly eol: string;
}

/** How one container lays out its children. */
interface Layout {
  readonly multiline: boolean;
  /** Indentation of a child line (multi-line containers). */
  readonly indent: string;
  /** What goes between two children, line break and indentation included. */
  readonly separator: string;
}

function childrenOf(node: JsonObject | JsonArray): Array<{ start: number; end: number }> {
  return node.kind === 'object'
    ? node.members.map((member) => ({ start: member.keyStart, end: member.value.end }))
    : [...node.items];
}

const MAX_STYLE_SAMPLES = 256;

function detectStyle(text: string, root: JsonNode, lines: SourceLines): JsonStyle {
  const pretty = root.kind !== 'value' && lines.lineOf(root.start) !== lines.lineOf(root.end - 1);
  let unit = '  ';
  let colon = pretty ? ': ' : ':';
  let comma = ',';
  const queue: JsonNode[] = [root];
  let foundUnit = false;
  let foundColon = false;
  let foundComma = false;
  // The first few hundred containers, breadth first, tell the style; a big document's rest not.
  for (let next = 0; next < queue.length && next < MAX_STYLE_SAMPLES; next++) {
    if (foundUnit && foundColon && foundComma) break;
    const node = queue[next];
    if (node === undefined || node.kind === 'value') continue;
    const children = childrenOf(node);
    const [first, second] = children;
    if (!foundUnit && first && lines.lineOf(first.start) !== lines.lineOf(node.start)) {
      const base = lines.leading(lines.lineOf(node.start));
      const own = lines.leading(lines.lineOf(first.start));
      if (own.startsWith(base) && own.length > base.length) unit = own.slice(base.length);
      foundUnit = true;
    }
    if (!foundColon && node.kind === 'object' && node.members[0]) {
      const member = node.members[0];
      colon = /:\s/.test(text.slice(member.keyEnd, member.value.start)) ? ': ' : ':';
      foundColon = true;
    }
    if (!foundComma && first && second && lines.lineOf(first.start) === lines.lineOf(second.start)) {
      comma = text.slice(first.end, second.start).includes(' ') ? ', ' : ',';
      foundComma = true;
    }
    queue.push(...(node.kind === 'object' ? node.members.map((member) => member.value) : node.items));
  }
  if (!foundComma && pretty) comma = ', ';
  return { pretty, unit, colon, comma, eol: lines.eol };
}

class JsonEditor {
  private readonly edits: Splice[] = [];

  constructor(
    private readonly text: string,
    private readonly lines: SourceLines,
    private readonly style: JsonStyle,
    private readonly equal: (a: unknown, b: unknown) => boolean,
  ) {}

  edit(node: JsonNode, before: unknown, after: unknown, path: FieldPath): void {
    if (this.equal(before, after)) return;
    if (node.kind === 'object' && isPlainObject(before) && isPlainObject(after)) {
      return this.editObject(node, before, after, path);
    }
    if (node.kind === 'array' && Array.isArray(before) && Array.isArray(after)) {
      return this.editArray(node, before, after, path);
    }
    this.replace(node, after, path);
  }

  private replace(node: JsonNode, after: unknown, path: FieldPath): void {
    const indent = this.lines.leading(this.lines.lineOf(node.start));
    this.splice(node.start, node.end, this.stringify(after, indent, this.style.pretty, path));
  }

  private layout(node: JsonObject | JsonArray): Layout {
    const lines = this.lines;
    const [first, second] = childrenOf(node);
    const base = lines.leading(lines.lineOf(node.start));
    const multiline = first ? lines.lineOf(first.start) !== lines.lineOf(node.start) : this.style.pretty;
    const indent = multiline && first ? lines.leading(lines.lineOf(first.start)) : base + this.style.unit;
    if (multiline) return { multiline, indent, separator: `,${this.style.eol}${indent}` };
    const comma =
      first && second
        ? this.text.slice(first.end, second.start).includes(' ')
          ? ', '
          : ','
        : this.style.comma;
    return { multiline, indent, separator: comma };
  }

  private editObject(
    node: JsonObject,
    before: Record<string, unknown>,
    after: Record<string, unknown>,
    path: FieldPath,
  ): void {
    const members = node.members;
    const keys = new Set(members.map((member) => member.key));
    const beforeKeys = definedKeys(before);
    const afterKeys = definedKeys(after);
    const kept = members.filter((member) => after[member.key] !== undefined);
    const matches =
      keys.size === members.length &&
      beforeKeys.length === keys.size &&
      beforeKeys.every((key) => keys.has(key));
    if (!matches || afterKeys.length === 0 || kept.length === 0) return this.replace(node, after, path);

    for (const member of kept)
      this.edit(member.value, before[member.key], after[member.key], [...path, member.key]);
    this.removeRuns(
      childrenOf(node),
      members.map((member) => after[member.key] === undefined),
    );
    const added = afterKeys.filter((key) => !keys.has(key));
    const last = kept[kept.length - 1];
    if (added.length === 0 || last === undefined) return;
    const layout = this.layout(node);
    const text = added
      .map(
        (key) =>
          `${JSON.stringify(key)}${this.style.colon}${this.stringify(after[key], layout.indent, layout.multiline, [...path, key])}`,
      )
      .join(layout.separator);
    this.splice(last.value.end, last.value.end, layout.separator + text);
  }

  private editArray(
    node: JsonArray,
    before: readonly unknown[],
    after: readonly unknown[],
    path: FieldPath,
  ): void {
    const items = node.items;
    if (items.length !== before.length || after.length === 0) return this.replace(node, after, path);
    const { pairs } = matchSequence(before, after);
    const first = pairs[0];
    if (first === undefined) return this.replace(node, after, path);
    for (const [i, j] of pairs) {
      const item = items[i];
      if (item) this.edit(item, before[i], after[j], [...path, j]);
    }
    const keptBefore = new Set(pairs.map(([i]) => i));
    this.removeRuns(
      [...items],
      items.map((_, i) => !keptBefore.has(i)),
    );
    const layout = this.layout(node);
    for (const { start: j, end: k, previous } of insertedRuns(pairs, after.length)) {
      const text = after
        .slice(j, k + 1)
        .map((value, x) => this.stringify(value, layout.indent, layout.multiline, [...path, j + x]))
        .join(layout.separator);
      const anchor = items[previous ?? first[0]];
      if (anchor !== undefined) {
        if (previous !== undefined) this.splice(anchor.end, anchor.end, layout.separator + text);
        else this.splice(anchor.start, anchor.start, text + layout.separator);
      }
    }
  }

  /** Removes runs of children; some child of the container is kept. */
  private removeRuns(
    children: ReadonlyArray<{ start: number; end: number }>,
    removed: readonly boolean[],
  ): void {
    for (let a = 0; a < children.length;) {
      if (!removed[a]) {
        a++;
        continue;
      }
      let b = a;
      while (b + 1 < children.length && removed[b + 1]) b++;
      const next = children[b + 1];
      const previous = children[a - 1];
      const first = children[a];
      const last = children[b];
      if (next && first) this.splice(first.start, next.start, '');
      else if (previous && last) this.splice(previous.end, last.end, '');
      a = b + 1;
    }
  }

  /** `value` as JSON; nested containers spread over lines below `indent` when `multiline`. */
  private stringify(value: unknown, indent: string, multiline: boolean, path: FieldPath): string {
    if (value === null || value === undefined) return 'null';
    if (typeof value === 'string' || typeof value === 'boolean') return JSON.stringify(value);
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) throw editFailed(`${value} cannot be written as JSON`, path);
      return JSON.stringify(value);
    }
    if (typeof value === 'bigint') return value.toString();
    const inner = indent + this.style.unit;
    const open = multiline ? `${this.style.eol}${inner}` : '';
    const close = multiline ? `${this.style.eol}${indent}` : '';
    const separator = multiline ? `,${this.style.eol}${inner}` : this.style.comma;
    if (Array.isArray(value)) {
      if (value.length === 0) return '[]';
      const items = value.map((item, i) => this.stringify(item, inner, multiline, [...path, i]));
      return `[${open}${items.join(separator)}${close}]`;
    }
    if (isPlainObject(value)) {
      const keys = definedKeys(value);
      if (keys.length === 0) return '{}';
      const members = keys.map(
        (key) =>
          `${JSON.stringify(key)}${this.style.colon}${this.stringify(value[key], inner, multiline, [...path, key])}`,
      );
      return `{${open}${members.join(separator)}${close}}`;
    }
    throw editFailed(`a value of type ${typeof value} cannot be written as JSON`, path);
  }

  private splice(start: number, end: number, text: string): void {
    this.edits.push({ start, end, text, order: this.edits.length });
  }

  apply(): string {
    return applySplices(this.text, this.edits);
  }
}

/**
 * Edits one JSON document from `before` (what it decodes to) to `after`, changing only the
 * text of the members that differ. Returns `source` itself when nothing does.
 */
export function editJsonDocument(source: string, before: unknown, after: unknown): JsonEditResult {
  const equal = memoizedDeepEqual();
  if (equal(before, after)) return { text: source };
  let root: JsonNode;
  try {
    root = parseJsonTree(source);
  } catch (err) {
    throw editFailed('the document is not valid JSON', [], {}, err);
  }
  const lines = new SourceLines(source);
  try {
    return { text: editJsonTree(source, lines, root, before, after, equal) };
  } catch (err) {
    throw placeEditError(err, source, 'json', { lines, root });
  }
}

function editJsonTree(
  source: string,
  lines: SourceLines,
  root: JsonNode,
  before: unknown,
  after: unknown,
  equal: (a: unknown, b: unknown) => boolean,
): string {
  const editor = new JsonEditor(source, lines, detectStyle(source, root, lines), equal);
  editor.edit(root, before, after, []);
  const text = editor.apply();
  let decoded: unknown;
  try {
    decoded = parseJsonExact(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (err) {
    throw editFailed('the edited document would not parse', [], {}, err);
  }
  const difference = firstDifference(decoded, after);
  if (difference !== undefined) {
    throw editFailed(
      `the edited document would decode to a different value at ${formatPath(difference)}`,
      difference,
    );
  }
  return text;
}
