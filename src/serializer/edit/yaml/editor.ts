/**
 * The lossless YAML editor: given one document's text, the value it decodes to and the value
 * wanted, it splices the text so that only the changed fields' lines change. Comments, key
 * order, quoting, indentation, blank lines, flow or block style and anchors stay as they are.
 *
 * Behaviour (each covered by test/serializer/edit/yaml/editor.test.ts):
 * - A changed scalar keeps its style (plain, quoted, block) when the new value fits it; a new
 *   string that YAML 1.1 or 1.2 would read as something else is quoted; a string with line
 *   breaks becomes a `|` (or `|-`) block scalar in block context; an octal or hex number keeps
 *   its base. A string ending in two or more line breaks is double-quoted instead: keep
 *   chomping (`|+`) would also swallow the blank lines that follow it in the document.
 * - New keys go after the map's last pair (before comment lines that follow it), in the order
 *   of `after`, in the document's indentation and list style; a flow map stays flow.
 * - A removed key or item takes its lines with it, and the comment lines directly above it
 *   (no blank line between): they described it. Every removed comment is reported in
 *   `removedComments` with its text, line and field path; none is dropped silently.
 * - Lists whose items carry a Kubernetes merge key (`name`, `containerPort`, ...) are matched
 *   by it (a renamed item whose other fields mostly stay is edited in place, see
 *   edit-sequence.ts); other lists by content, changed items in between paired by position.
 * - A change of type (scalar to map, map to list...) writes that node afresh in block style;
 *   an emptied map or list becomes `{}` or `[]`; a flow collection (`{}`, `[a]`) stays flow.
 * - Anchors and aliases: see anchors.ts (the anchored node is edited in place, and
 *   an alias that no longer shares its value is replaced by that value written out).
 * - Every result is decoded again and compared with `after`; an edit that cannot be made
 *   exactly throws EditFailed naming the field. Broken YAML is never returned.
 *
 * Two ways to find the nodes: a fast line scanner over the block structure (most manifests),
 * and a full `yaml` parse (anchors, merge keys, or anything the scanner does not read). The
 * fast way is tried first and its result is verified like the other's.
 */
import jsYaml from 'js-yaml';
import { ErrorCodes, isGitOpsError } from '../../../runtime/index.js';
import { editFailed } from '../errors.js';
import { applySplices } from '../splices.js';
import type { Splice } from '../splices.js';
import { LineKind, SourceLines } from '../../shared/lines.js';
import { insertedRuns, matchSequence } from '../sequence.js';
import {
  definedKeys,
  firstDifference,
  formatPath,
  isPlainObject,
  isScalarValue,
  memoizedDeepEqual,
} from '../values.js';
import type { FieldPath, PathSegment } from '../values.js';
import { pathKey, planSharedValues } from './anchors.js';
import type { SharedValuePlan } from './anchors.js';
import { commentsIn } from './comments.js';
import { nodeFromAst, parseRegion } from './nodes.js';
import { BlockScanner } from './scan.js';
import type { ItemEntry, MapNode, PairEntry, ScalarNode, SeqNode, YamlNode } from './nodes.js';
import {
  detectStyle,
  mapLines,
  renderBlockScalar,
  renderBlockValue,
  renderFlow,
  renderKey,
  renderScalar,
  rootLines,
} from './render.js';
import type { BlockRendering, RenderStyle } from './render.js';
import { placeEditError } from '../../shared/locate.js';
import { KUBE_YAML_SCHEMA } from '../../shared/yaml11.js';

/** A comment an edit took out of the document (it belonged to a removed or replaced node). */
export interface RemovedComment {
  /** The comment as written, `#` included. */
  text: string;
  /** 1-based line in the `source` given to the editor. */
  line: number;
  /** The field it belonged to, e.g. `.metadata.labels.team`. */
  path: string;
}

export interface YamlEditOptions {
  /** Spaces per level for new nested content; detected from the document by default. */
  indent?: number;
  /** How new lists under a key are written; detected (default `compact`, kubectl's style). */
  sequenceStyle?: 'compact' | 'indented';
  /** Quotes for new strings that need quoting; detected (default `double`). */
  quote?: 'double' | 'single';
  /**
   * How nodes are found: `auto` (default) tries the fast scanner and falls back to the full
   * parse; `scanner` and `parser` use one of them only (tests and diagnostics).
   */
  locator?: 'auto' | 'scanner' | 'parser';
}

export interface YamlEditResult {
  text: string;
  removedComments: RemovedComment[];
}

type Slot =
  | { kind: 'root' }
  | { kind: 'pair'; pair: PairEntry; parent: MapNode }
  | { kind: 'item'; item: ItemEntry; parent: SeqNode };

/** The field a removed comment is reported under: fixed, or by where the comment was. */
type CommentOwner = FieldPath | ((offset: number) => FieldPath);

interface EntrySpan {
  start: number;
  end: number;
}

/** `list[index]`, which the editor's own bookkeeping guarantees to exist. */
function entry<T>(list: readonly T[], index: number): T {
  const value = list[index];
  if (value === undefined) throw editFailed(`internal: no entry ${index}`, []);
  return value;
}

// A merge key (`<<: *base`) copies keys the scanner cannot see: such maps need the parser.
const MERGE_KEY = /^[ \t]*(?:-[ \t]+)*<<[ \t]*:/m;

class YamlEditor {
  private readonly edits: Splice[] = [];
  private readonly removedComments: RemovedComment[] = [];
  private readonly text: string;
  private cachedStyle: RenderStyle | undefined;

  constructor(
    private readonly lines: SourceLines,
    private readonly options: YamlEditOptions,
    /** Fast path: a text/value disagreement means the scanner misread; give up. */
    private readonly strict: boolean,
    private readonly equal: (a: unknown, b: unknown) => boolean,
    private readonly shared?: SharedValuePlan,
  ) {
    this.text = lines.text;
  }

  private get style(): RenderStyle {
    return (this.cachedStyle ??= detectStyle(this.lines, this.options));
  }

  edit(
    slot: Slot,
    node: YamlNode | null,
    before: unknown,
    after: unknown,
    path: FieldPath,
    src: FieldPath,
  ): void {
    if (this.shared) {
      const key = pathKey(src);
      if (this.shared.skip.has(key)) return;
      if (this.shared.rerender.has(key)) return this.replace(slot, node, after, path, src);
      if (this.equal(before, after) && !this.shared.visit.has(key)) return;
    } else if (this.equal(before, after)) return;
    // Fast path: assume an alias follows its anchor's edit; the verification tells if it did
    // not, and then the full parse plans anchors properly (anchors.ts).
    if (node?.kind === 'alias' && this.strict) return;
    if (node === null || node.kind === 'alias') return this.replace(slot, node, after, path, src);
    if (node.kind === 'map' && isPlainObject(before) && isPlainObject(after)) {
      return this.editMap(slot, node, before, after, path, src);
    }
    if (node.kind === 'seq' && Array.isArray(before) && Array.isArray(after)) {
      return this.editSeq(slot, node, before, after, path, src);
    }
    // A tagged scalar (`!!str 5`) is written afresh: its tag may not fit the new value.
    if (node.kind === 'scalar' && !node.tagged && isScalarValue(before) && isScalarValue(after)) {
      return this.editScalar(slot, node, after, path, src);
    }
    const agrees =
      node.kind === 'map'
        ? isPlainObject(before)
        : node.kind === 'seq'
          ? Array.isArray(before)
          : isScalarValue(before);
    if (!agrees) this.disagree(path, 'the text holds a different kind of value than the decoded one');
    this.replace(slot, node, after, path, src);
  }

  private disagree(path: FieldPath, message: string): void {
    if (this.strict) throw editFailed(message, path);
  }

  // ---- scalars -------------------------------------------------------------------------

  private editScalar(slot: Slot, node: ScalarNode, after: unknown, path: FieldPath, src: FieldPath): void {
    const inFlow = node.inFlow || (slot.kind !== 'root' && slot.parent.flow);
    const isBlock = node.style === 'literal' || node.style === 'folded';
    if (!inFlow && typeof after === 'string' && (after.includes('\n') || isBlock)) {
      const column = isBlock ? this.blockContentColumn(node, slot) : this.childColumn(slot);
      const block = renderBlockScalar(after, column, node.style === 'folded');
      if (block) return this.spliceNode(node, block, src);
    }
    const prefer = node.style === 'single' || node.style === 'double' ? node.style : undefined;
    const original = node.style === 'plain' ? this.text.slice(node.start, node.end) : undefined;
    this.splice(node.start, node.end, renderScalar(after, inFlow, this.style, path, prefer, original), src);
  }

  /** Where the content of a block scalar already is (its lines keep their indentation). */
  private blockContentColumn(node: ScalarNode, slot: Slot): number {
    const lines = this.lines;
    const last = lines.lineOf(node.end);
    for (let l = lines.lineOf(node.start) + 1; l <= last; l++) {
      if (lines.kind(l) !== LineKind.Blank) return lines.indent(l);
    }
    return this.childColumn(slot);
  }

  /** Column of content nested under the slot's key or dash. */
  private childColumn(slot: Slot): number {
    if (slot.kind === 'root') return this.style.indent;
    if (slot.kind === 'pair') return this.lines.column(slot.pair.keyStart) + this.style.indent;
    return this.lines.column(slot.item.start) + 2;
  }

  // ---- whole nodes ---------------------------------------------------------------------

  /** Writes `after` afresh in the node's place (a type change, an alias, a shared value). */
  private replace(slot: Slot, node: YamlNode | null, after: unknown, path: FieldPath, src: FieldPath): void {
    const style = this.style;
    const owner = this.commentOwner(node, src);
    const keepsFlow =
      node !== null &&
      (node.kind === 'map' || node.kind === 'seq') &&
      node.flow &&
      (isPlainObject(after) || Array.isArray(after));
    if (slot.kind === 'root') {
      const eol = this.lines.eol;
      if (node) {
        const text = keepsFlow ? renderFlow(after, style, path) : rootLines(after, style, path).join(eol);
        return this.splice(node.start, node.end, text, owner);
      }
      const end = this.text.length;
      const lead = end > 0 && !this.text.endsWith('\n') ? eol : '';
      return this.splice(end, end, lead + rootLines(after, style, path).join(eol) + eol, owner);
    }
    if (slot.parent.flow || keepsFlow) {
      const text = renderFlow(after, style, path);
      if (node) return this.splice(node.start, node.end, text, owner);
      const at = slot.kind === 'pair' ? slot.pair.colonEnd : slot.item.start;
      return this.splice(at, at, slot.kind === 'pair' ? ` ${text}` : text, owner);
    }
    const isItem = slot.kind === 'item';
    const column = this.lines.column(isItem ? slot.item.start : slot.pair.keyStart);
    const rendering = renderBlockValue(after, column, isItem, style, path);
    const indicatorEnd = isItem ? slot.item.indicatorEnd : slot.pair.colonEnd;
    const indicatorLine = this.lines.lineOf(indicatorEnd - 1);
    if (node && this.lines.lineOf(node.start) === indicatorLine) {
      // A tag (`!!str`) describes the old value, not the new one: it goes too.
      if (rendering.head !== '' && node.tagged) {
        const head = { head: ` ${rendering.head}`, rest: rendering.rest };
        return this.spliceNode({ start: indicatorEnd, end: node.end }, head, owner);
      }
      if (rendering.head !== '') return this.spliceNode(node, rendering, owner);
      // A collection goes below the key; whatever followed the indicator goes (a comment stays).
      return this.spliceNode({ start: indicatorEnd, end: node.end }, rendering, owner);
    }
    const lineEnd = this.lines.contentEnd(indicatorLine);
    const rest = this.restText(rendering);
    if (rendering.head !== '') this.splice(indicatorEnd, indicatorEnd, ` ${rendering.head}`, owner);
    if (node) this.splice(lineEnd, isItem ? slot.item.end : slot.pair.end, rest, owner);
    else if (rest !== '') this.splice(lineEnd, lineEnd, rest, owner);
  }

  /** Comments inside a replaced map or list belong to the entry they sit in (or above). */
  private commentOwner(node: YamlNode | null, src: FieldPath): CommentOwner {
    if (node === null || (node.kind !== 'map' && node.kind !== 'seq')) return src;
    const entries =
      node.kind === 'map'
        ? node.pairs().map((pair) => ({ end: pair.end, path: [...src, pair.key] }))
        : node.items().map((item, i) => ({ end: item.end, path: [...src, i] }));
    return (offset) => entries.find((child) => offset <= child.end)?.path ?? src;
  }

  private restText(rendering: BlockRendering): string {
    return rendering.rest.length === 0 ? '' : this.lines.eol + rendering.rest.join(this.lines.eol);
  }

  /** Puts `head` where the node was and `rest` on new lines after the line the node ends on. */
  private spliceNode(
    range: { start: number; end: number },
    rendering: BlockRendering,
    src: CommentOwner,
  ): void {
    const rest = this.restText(rendering);
    const lineEnd = this.lines.contentEnd(this.lines.lineOf(range.end));
    if (lineEnd === range.end) return this.splice(range.start, range.end, rendering.head + rest, src);
    this.splice(range.start, range.end, rendering.head, src);
    if (rest !== '') this.splice(lineEnd, lineEnd, rest, src);
  }

  // ---- maps ----------------------------------------------------------------------------

  private editMap(
    slot: Slot,
    node: MapNode,
    before: Record<string, unknown>,
    after: Record<string, unknown>,
    path: FieldPath,
    src: FieldPath,
  ): void {
    const pairs = node.pairs();
    const byKey = new Map<string, PairEntry>();
    for (const pair of pairs) byKey.set(pair.key, pair);
    const beforeKeys = definedKeys(before);
    if (
      byKey.size !== pairs.length ||
      beforeKeys.length !== pairs.length ||
      beforeKeys.some((k) => !byKey.has(k))
    ) {
      // Duplicate keys or merge keys (`<<`): the text's pairs are not the decoded keys.
      this.disagree(path, 'the keys in the text are not the keys of the decoded map');
      return this.replace(slot, node, after, path, src);
    }
    const afterKeys = definedKeys(after);
    const kept = pairs.filter((pair) => after[pair.key] !== undefined);
    if (afterKeys.length === 0 || kept.length === 0) return this.replace(slot, node, after, path, src);

    for (const pair of kept) {
      const pairSlot: Slot = { kind: 'pair', pair, parent: node };
      this.edit(
        pairSlot,
        pair.value,
        before[pair.key],
        after[pair.key],
        [...path, pair.key],
        [...src, pair.key],
      );
    }
    this.removeRuns(
      node,
      pairs.map((pair) => ({ start: pair.keyStart, end: pair.end })),
      pairs.map((pair) => after[pair.key] === undefined),
      (i) => [...src, entry(pairs, i).key],
    );
    const added = afterKeys.filter((key) => !byKey.has(key));
    if (added.length === 0) return;
    const last = entry(kept, kept.length - 1);
    if (node.flow) {
      const text = added.map(
        (key) => `${renderKey(key, true)}: ${renderFlow(after[key], this.style, [...path, key])}`,
      );
      return this.splice(last.end, last.end, `, ${text.join(', ')}`, src);
    }
    const column = this.lines.column(entry(pairs, 0).keyStart);
    const newLines = mapLines(
      Object.fromEntries(added.map((key) => [key, after[key]])),
      column,
      this.style,
      path,
    );
    this.insertLinesAfter(last.end, newLines, src);
  }

  // ---- sequences -----------------------------------------------------------------------

  private editSeq(
    slot: Slot,
    node: SeqNode,
    before: readonly unknown[],
    after: readonly unknown[],
    path: FieldPath,
    src: FieldPath,
  ): void {
    const items = node.items();
    if (items.length !== before.length) {
      this.disagree(path, 'the list in the text has a different length than the decoded one');
      return this.replace(slot, node, after, path, src);
    }
    if (after.length === 0) return this.replace(slot, node, after, path, src);
    const { pairs } = matchSequence(before, after);
    if (pairs.length === 0) return this.replace(slot, node, after, path, src);
    const [firstKept, firstKeptAfter] = entry(pairs, 0);
    const column = node.flow ? 0 : this.lines.column(entry(items, 0).start);
    // New items before the first kept one go above its line; that needs the dash to start it.
    if (firstKeptAfter > 0 && !node.flow && !this.startsLine(entry(items, firstKept).start)) {
      return this.replace(slot, node, after, path, src);
    }

    for (const [i, j] of pairs) {
      const item = entry(items, i);
      const itemSlot: Slot = { kind: 'item', item, parent: node };
      this.edit(itemSlot, item.node, before[i], after[j], [...path, j], [...src, i]);
    }
    const keptBefore = new Set(pairs.map(([i]) => i));
    this.removeRuns(
      node,
      items,
      items.map((_, i) => !keptBefore.has(i)),
      (i) => [...src, i],
    );
    for (const { start, end, previous } of insertedRuns(pairs, after.length)) {
      this.insertItems(
        node,
        items,
        previous,
        firstKept,
        after.slice(start, end + 1),
        column,
        [...path],
        start,
        src,
      );
    }
  }

  private insertItems(
    node: SeqNode,
    items: readonly ItemEntry[],
    previous: number | undefined,
    firstKept: number,
    values: readonly unknown[],
    column: number,
    path: PathSegment[],
    firstIndex: number,
    src: FieldPath,
  ): void {
    const style = this.style;
    if (node.flow) {
      const text = values.map((value, x) => renderFlow(value, style, [...path, firstIndex + x])).join(', ');
      if (previous !== undefined) {
        const at = entry(items, previous).end;
        return this.splice(at, at, `, ${text}`, src);
      }
      const at = entry(items, firstKept).start;
      return this.splice(at, at, `${text}, `, src);
    }
    const eol = this.lines.eol;
    const newLines = values.flatMap((value, x) =>
      seqLinesAt(value, column, style, [...path, firstIndex + x]),
    );
    if (previous !== undefined) {
      return this.insertLinesAfter(entry(items, previous).end, newLines, src);
    }
    const at = this.lines.start(this.attachedStart(this.lines.lineOf(entry(items, firstKept).start), column));
    this.splice(at, at, newLines.join(eol) + eol, src);
  }

  /**
   * Inserts whole lines after the entry ending at `end`. When the entry's own last lines are
   * being removed (an edit inside it), the lines go where that removal starts instead.
   */
  private insertLinesAfter(end: number, newLines: readonly string[], src: FieldPath): void {
    const eol = this.lines.eol;
    const covering = this.edits.find((edit) => edit.start < end && end < edit.end);
    if (covering === undefined) return this.splice(end, end, eol + newLines.join(eol), src);
    const at = covering.start;
    const atLineStart = at === this.lines.start(this.lines.lineOf(at));
    this.splice(at, at, atLineStart ? newLines.join(eol) + eol : eol + newLines.join(eol), src);
  }

  // ---- removal -------------------------------------------------------------------------

  private startsLine(offset: number): boolean {
    const line = this.lines.lineOf(offset);
    return this.lines.column(offset) === this.lines.indent(line);
  }

  /** First of the comment lines directly above `line` that belong to an entry at `column`. */
  private attachedStart(line: number, column: number): number {
    let first = line;
    while (
      first > 0 &&
      this.lines.kind(first - 1) === LineKind.Comment &&
      this.lines.indent(first - 1) <= column
    ) {
      first--;
    }
    return first;
  }

  private removeRuns(
    node: MapNode | SeqNode,
    entries: readonly EntrySpan[],
    removed: readonly boolean[],
    srcOf: (index: number) => FieldPath,
  ): void {
    for (let a = 0; a < entries.length;) {
      if (!removed[a]) {
        a++;
        continue;
      }
      let b = a;
      while (b + 1 < entries.length && removed[b + 1]) b++;
      this.removeRun(node, entries, a, b, srcOf);
      a = b + 1;
    }
  }

  /** Removes entries a..b (some entry of the node is kept, so the node stays non-empty). */
  private removeRun(
    node: MapNode | SeqNode,
    entries: readonly EntrySpan[],
    a: number,
    b: number,
    srcOf: (index: number) => FieldPath,
  ): void {
    const lines = this.lines;
    let start: number;
    let end: number;
    const first = entry(entries, a);
    const last = entry(entries, b);
    if (node.flow || !this.startsLine(first.start)) {
      // Flow entries, or the first pair of a list item (`- name: x`): cut up to the next entry.
      if (b + 1 < entries.length) {
        start = first.start;
        end = entry(entries, b + 1).start;
      } else {
        start = entry(entries, a - 1).end;
        end = last.end;
      }
    } else {
      const column = lines.column(first.start);
      let firstLine = this.attachedStart(lines.lineOf(first.start), column);
      const lastLine = lines.lineOf(last.end);
      end = lines.next(lastLine);
      let next = lastLine + 1;
      while (next < lines.count && lines.kind(next) === LineKind.Comment) next++;
      const closesBlock =
        lastLine + 1 >= lines.count ||
        lines.kind(lastLine + 1) === LineKind.Blank ||
        (next < lines.count && lines.kind(next) === LineKind.Content && lines.indent(next) < column);
      // The blank lines that separated the removed entries from what was above go too, when
      // nothing of this block follows them.
      if (closesBlock) while (firstLine > 0 && lines.kind(firstLine - 1) === LineKind.Blank) firstLine--;
      start = lines.start(firstLine);
      if (lines.contentEnd(lastLine) === this.text.length && firstLine > 0) {
        // The last line had no line ending: take the one before instead.
        start = lines.contentEnd(firstLine - 1);
      }
    }
    this.splice(start, end, '', (offset) => {
      for (let i = a; i <= b; i++) if (offset < entry(entries, i).end) return srcOf(i);
      return srcOf(b);
    });
  }

  // ---- text ----------------------------------------------------------------------------

  private splice(start: number, end: number, text: string, owner: CommentOwner): void {
    if (end > start) {
      for (const comment of commentsIn(this.text, start, end, this.lines.column(start))) {
        this.removedComments.push({
          text: comment.text,
          line: this.lines.lineOf(comment.offset) + 1,
          path: formatPath(typeof owner === 'function' ? owner(comment.offset) : owner),
        });
      }
    }
    this.edits.push({ start, end, text, order: this.edits.length });
  }

  apply(): YamlEditResult {
    return { text: applySplices(this.text, this.edits), removedComments: this.removedComments };
  }
}

function seqLinesAt(value: unknown, column: number, style: RenderStyle, path: FieldPath): string[] {
  const rendering = renderBlockValue(value ?? null, column, true, style, path);
  const dash = `${' '.repeat(column)}-`;
  return [rendering.head === '' ? dash : `${dash} ${rendering.head}`, ...rendering.rest];
}

function runEdit(
  lines: SourceLines,
  root: YamlNode | null,
  before: unknown,
  after: unknown,
  options: YamlEditOptions,
  strict: boolean,
  equal: (a: unknown, b: unknown) => boolean,
  shared?: SharedValuePlan,
): YamlEditResult {
  const editor = new YamlEditor(lines, options, strict, equal, shared);
  editor.edit({ kind: 'root' }, root, before, after, [], []);
  return editor.apply();
}

interface Mismatch {
  path: PathSegment[];
  cause?: unknown;
}

/** Decodes the edited text as the API server would and compares it with the wanted value. */
function verify(text: string, after: unknown): Mismatch | undefined {
  let decoded: unknown;
  try {
    decoded = jsYaml.load(text, { schema: KUBE_YAML_SCHEMA });
  } catch (err) {
    return { path: [], cause: err };
  }
  const path = firstDifference(decoded ?? null, after ?? null);
  return path === undefined ? undefined : { path };
}

/**
 * Edits one YAML document (no `---` lines) from `before` (what it decodes to) to `after`,
 * changing only the text of the fields that differ. Returns `source` itself when nothing does.
 * An EditFailed is placed at the line and column of its field in `source`.
 */
export function editYamlDocument(
  source: string,
  before: unknown,
  after: unknown,
  options: YamlEditOptions = {},
): YamlEditResult {
  try {
    return editYamlText(source, before, after, options);
  } catch (err) {
    throw placeEditError(err, source, 'yaml');
  }
}

function editYamlText(
  source: string,
  before: unknown,
  after: unknown,
  options: YamlEditOptions,
): YamlEditResult {
  const equal = memoizedDeepEqual();
  if (equal(before, after)) return { text: source, removedComments: [] };
  const lines = new SourceLines(source);
  const locator = options.locator ?? 'auto';
  if (locator === 'scanner') {
    const result = runEdit(lines, new BlockScanner(lines).root(), before, after, options, true, equal);
    const mismatch = verify(result.text, after);
    if (mismatch) throw editFailed('the scanner edit does not decode to the wanted value', mismatch.path);
    return result;
  }
  if (locator === 'auto' && !(source.includes('<<') && MERGE_KEY.test(source))) {
    // The scanner does not follow aliases; an edit that an alias should not have followed
    // shows in the verification, and the full parse below handles anchors properly.
    try {
      const result = runEdit(lines, new BlockScanner(lines).root(), before, after, options, true, equal);
      if (verify(result.text, after) === undefined) return result;
    } catch {
      // Anything the fast path cannot do exactly, the full parse below does or reports.
    }
  }
  let result: YamlEditResult;
  try {
    const contents = parseRegion(source);
    const root = nodeFromAst(contents, { lines, toSource: (offset) => offset });
    result = runEdit(
      lines,
      root,
      before,
      after,
      options,
      false,
      equal,
      planSharedValues(contents, before, after),
    );
  } catch (err) {
    if (isGitOpsError(err, ErrorCodes.EditFailed)) throw err;
    throw editFailed('the edit could not be made', [], {}, err);
  }
  const mismatch = verify(result.text, after);
  if (mismatch) {
    throw editFailed(
      mismatch.cause === undefined
        ? `the edited document would decode to a different value at ${formatPath(mismatch.path)}`
        : 'the edited document would not decode',
      mismatch.path,
      {},
      mismatch.cause,
    );
  }
  return result;
}
