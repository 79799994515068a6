/**
 * A fast, lazy locator for the block structure of a YAML document: block maps, block
 * sequences and one-line scalars, found from indentation alone. Only the nodes on the path of
 * an edit are looked at, so editing one field of a 200 KB document does not parse 200 KB.
 * Anything else (flow collections, multi-line quoted or plain scalars, anchors, tags) is
 * handed to the `yaml` package, for that pair or item only. When the text is not what the
 * scanner expects it throws EditFailed, and the editor falls back to a full `yaml` parse.
 */
import { yaml } from '../../shared/yaml-lib.js';
import { editFailed } from '../errors.js';
import { LineKind } from '../../shared/lines.js';
import type { SourceLines } from '../../shared/lines.js';
import { KEEP_CHOMPING, keyString, nodeFromAst, parseRegion } from './nodes.js';
import type { ItemEntry, MapNode, PairEntry, ScalarStyle, SeqNode, YamlNode } from './nodes.js';

interface KeyToken {
  key: string;
  colonEnd: number;
}

const BLOCK_HEADER = /^[|>](?:[1-9][+-]?|[+-][1-9]?)?(?=[ \t]|$)/;
const HEADER_AT_LINE_END = /(?:^|[\s:-])[|>](?:[1-9][+-]?|[+-][1-9]?)?(?:[ \t]+#.*)?[ \t]*$/;
const PLAIN_KEY_START_FORBIDDEN = new Set([...'#,[]{}&*!|>\'"%@`']);
const DELEGATED_VALUE_START = new Set([...'[{&*!%@`']);

function scannerGaveUp(reason: string, line: number): never {
  throw editFailed(`the fast locator cannot read this text (${reason})`, [], { line: line + 1 });
}

export class BlockScanner {
  private readonly text: string;

  constructor(private readonly lines: SourceLines) {
    this.text = lines.text;
  }

  /** The document's root node, or null when the document holds only comments. */
  root(): YamlNode | null {
    const first = this.nextContent(0, this.lines.count);
    if (first < 0) return null;
    const column = this.lines.indent(first);
    const offset = this.lines.start(first) + column;
    const count = this.lines.count;
    if (this.isDashAt(offset, this.lines.contentEnd(first))) return this.seq(first, offset, count);
    if (this.parseKey(offset, this.lines.contentEnd(first))) return this.map(first, offset, count);
    return scannerGaveUp('the document is not a block map or sequence', first);
  }

  private map(line: number, offset: number, endLine: number): MapNode {
    let cache: PairEntry[] | undefined;
    const pairs = (): PairEntry[] => (cache ??= this.pairsOf(line, offset, endLine));
    return {
      kind: 'map',
      flow: false,
      inFlow: false,
      start: offset,
      get end() {
        return pairs().at(-1)?.end ?? offset;
      },
      pairs,
    };
  }

  private seq(line: number, offset: number, endLine: number): SeqNode {
    let cache: ItemEntry[] | undefined;
    const items = (): ItemEntry[] => (cache ??= this.itemsOf(line, offset, endLine));
    return {
      kind: 'seq',
      flow: false,
      inFlow: false,
      start: offset,
      get end() {
        return items().at(-1)?.end ?? offset;
      },
      items,
    };
  }

  private pairsOf(line: number, offset: number, endLine: number): PairEntry[] {
    const lines = this.lines;
    const column = lines.column(offset);
    const keyLines = [line];
    for (let l = line + 1; l < endLine; l++) {
      if (lines.kind(l) !== LineKind.Content) continue;
      const indent = lines.indent(l);
      if (indent < column) scannerGaveUp('a line is less indented than its map', l);
      // A `-` line at the keys' column is the compact sequence value of the previous key.
      if (indent === column && !this.isDashAt(lines.start(l) + indent, lines.contentEnd(l))) keyLines.push(l);
    }
    return keyLines.map((keyLine, index) => {
      const keyOffset = index === 0 ? offset : lines.start(keyLine) + column;
      const regionEnd = keyLines[index + 1] ?? endLine;
      const key = this.parseKey(keyOffset, lines.contentEnd(keyLine));
      if (!key) return scannerGaveUp('a line in a map is not a simple key', keyLine);
      const last = this.trimRegion(keyLine, regionEnd, column);
      const value = this.valueAfter(key.colonEnd, keyLine, last, regionEnd, column, true, () =>
        this.delegate(keyOffset, last, false),
      );
      const end = this.entryEnd(last, value);
      return { key: key.key, keyStart: keyOffset, colonEnd: key.colonEnd, value, end };
    });
  }

  private itemsOf(line: number, offset: number, endLine: number): ItemEntry[] {
    const lines = this.lines;
    const column = lines.column(offset);
    const dashLines = [line];
    for (let l = line + 1; l < endLine; l++) {
      if (lines.kind(l) !== LineKind.Content) continue;
      const indent = lines.indent(l);
      if (indent < column) scannerGaveUp('a line is less indented than its sequence', l);
      if (indent === column) {
        if (!this.isDashAt(lines.start(l) + indent, lines.contentEnd(l))) {
          scannerGaveUp('a line in a sequence is not an item', l);
        }
        dashLines.push(l);
      }
    }
    return dashLines.map((dashLine, index) => {
      const dash = index === 0 ? offset : lines.start(dashLine) + column;
      const regionEnd = dashLines[index + 1] ?? endLine;
      const last = this.trimRegion(dashLine, regionEnd, column);
      const lineEnd = lines.contentEnd(dashLine);
      const at = this.skipSpaces(dash + 1, lineEnd);
      let node: YamlNode | null;
      if (at < lineEnd && this.isDashAt(at, lineEnd)) node = this.seq(dashLine, at, regionEnd);
      else if (at < lineEnd && this.text[at] !== '#' && this.parseKey(at, lineEnd)) {
        node = this.map(dashLine, at, regionEnd);
      } else {
        node = this.valueAfter(dash + 1, dashLine, last, regionEnd, column, false, () =>
          this.delegate(dash, last, true),
        );
      }
      const end = this.entryEnd(last, node);
      return { start: dash, indicatorEnd: dash + 1, node, end };
    });
  }

  /**
   * The node after a `key:` or `-` indicator: on the same line, or on the next lines of the
   * entry's region (`last` is its last content line, `regionEnd` the first line after it).
   */
  private valueAfter(
    indicatorEnd: number,
    line: number,
    last: number,
    regionEnd: number,
    parentColumn: number,
    isPair: boolean,
    delegate: () => YamlNode | null,
  ): YamlNode | null {
    const lines = this.lines;
    const text = this.text;
    const lineEnd = lines.contentEnd(line);
    const at = this.skipSpaces(indicatorEnd, lineEnd);
    if (at >= lineEnd || text[at] === '#') {
      const first = this.nextContent(line + 1, last + 1);
      if (first < 0) return null;
      const indent = lines.indent(first);
      const offset = lines.start(first) + indent;
      const firstEnd = lines.contentEnd(first);
      if (indent < parentColumn || (indent === parentColumn && !isPair)) {
        scannerGaveUp('an entry value is not indented', first);
      }
      // Nested regions run to the entry's end, trailing blank lines included (a kept block
      // scalar at their end owns them).
      if (this.isDashAt(offset, firstEnd)) return this.seq(first, offset, regionEnd);
      if (indent === parentColumn) scannerGaveUp('an entry value is not indented', first);
      if (this.parseKey(offset, firstEnd)) return this.map(first, offset, regionEnd);
      return delegate();
    }
    const ch = text[at] ?? '';
    if (ch === '|' || ch === '>') {
      const header = BLOCK_HEADER.exec(text.slice(at, lineEnd));
      if (!header) return delegate();
      const rest = this.skipSpaces(at + header[0].length, lineEnd);
      if (rest < lineEnd && text[rest] !== '#') return delegate();
      for (let l = line + 1; l <= last; l++) {
        if (lines.kind(l) !== LineKind.Blank && lines.indent(l) <= parentColumn) {
          scannerGaveUp('a block scalar line is not indented', l);
        }
      }
      let endLine = last;
      if (KEEP_CHOMPING.test(header[0])) {
        // (The empty "line" after a final line break is not a line of the text.)
        while (
          endLine + 1 < regionEnd &&
          lines.kind(endLine + 1) === LineKind.Blank &&
          lines.start(endLine + 1) < this.text.length
        ) {
          endLine++;
        }
      }
      return this.scalar(ch === '|' ? 'literal' : 'folded', at, lines.contentEnd(endLine));
    }
    if (ch === '"' || ch === "'") {
      const close = ch === '"' ? this.closingDouble(at, lineEnd) : this.closingSingle(at, lineEnd);
      if (close < 0) return delegate();
      const rest = this.skipSpaces(close + 1, lineEnd);
      if (rest < lineEnd && text[rest] !== '#') return delegate();
      if (this.nextContent(line + 1, last + 1) >= 0) return delegate();
      return this.scalar(ch === '"' ? 'double' : 'single', at, close + 1);
    }
    if (DELEGATED_VALUE_START.has(ch)) return delegate();
    if ((ch === '-' || ch === '?' || ch === ':') && this.endsToken(at + 1, lineEnd)) {
      return delegate();
    }
    let end = lineEnd;
    const comment = text.slice(at, lineEnd).search(/[ \t]#/);
    if (comment >= 0) end = at + comment;
    while (end > at && (text[end - 1] === ' ' || text[end - 1] === '\t')) end--;
    const plain = text.slice(at, end);
    if (/:(?:[ \t]|$)/.test(plain)) return delegate();
    if (this.nextContent(line + 1, last + 1) >= 0) return delegate();
    return this.scalar('plain', at, end);
  }

  /**
   * End of an entry whose last content line is `last`. Only a kept block scalar's trailing
   * blank lines reach further; collections are not asked (that would scan them eagerly).
   */
  private entryEnd(last: number, value: YamlNode | null): number {
    const end = this.lines.contentEnd(last);
    return value?.kind === 'scalar' ? Math.max(end, value.end) : end;
  }

  private scalar(style: ScalarStyle, start: number, end: number): YamlNode {
    return { kind: 'scalar', style, inFlow: false, start, end };
  }

  /** Parses one pair or item with the `yaml` package, padded so its columns stay the same. */
  private delegate(entryOffset: number, last: number, isItem: boolean): YamlNode | null {
    const column = this.lines.column(entryOffset);
    const region = ' '.repeat(column) + this.text.slice(entryOffset, this.lines.contentEnd(last));
    const contents = parseRegion(region);
    const ctx = { lines: this.lines, toSource: (offset: number) => offset - column + entryOffset };
    if (isItem) {
      if (!yaml().isSeq(contents) || contents.items.length !== 1) scannerGaveUp('an item region', last);
      return nodeFromAst(contents.items[0], ctx);
    }
    if (!yaml().isMap(contents) || contents.items.length !== 1) scannerGaveUp('a pair region', last);
    return nodeFromAst(contents.items[0]?.value, ctx);
  }

  /**
   * The last content line of the region [first, endLine). Comment-looking lines at its end
   * are not content, unless a block scalar is still open there (then they are its text).
   */
  private trimRegion(first: number, endLine: number, column: number): number {
    const lines = this.lines;
    let last = endLine - 1;
    while (last > first && lines.kind(last) !== LineKind.Content) last--;
    let commentAfter = false;
    for (let l = last + 1; l < endLine && !commentAfter; l++)
      commentAfter = lines.kind(l) === LineKind.Comment;
    if (!commentAfter) return last;
    let lowest = Infinity;
    for (let l = last; l >= first; l--) {
      if (lines.kind(l) !== LineKind.Content) continue;
      const indent = lines.indent(l);
      if (indent >= lowest) continue;
      if (HEADER_AT_LINE_END.test(lines.textOf(l))) {
        let end = last;
        for (let k = last + 1; k < endLine; k++) {
          if (lines.kind(k) === LineKind.Blank) continue;
          if (lines.indent(k) <= indent) break;
          end = k;
        }
        return end;
      }
      lowest = indent;
      if (lowest <= column) break;
    }
    return last;
  }

  private nextContent(from: number, to: number): number {
    for (let l = from; l < to; l++) if (this.lines.kind(l) === LineKind.Content) return l;
    return -1;
  }

  private skipSpaces(at: number, end: number): number {
    while (at < end && (this.text[at] === ' ' || this.text[at] === '\t')) at++;
    return at;
  }

  private isDashAt(at: number, lineEnd: number): boolean {
    return (
      this.text[at] === '-' && (at + 1 >= lineEnd || this.text[at + 1] === ' ' || this.text[at + 1] === '\t')
    );
  }

  private closingDouble(at: number, lineEnd: number): number {
    for (let i = at + 1; i < lineEnd; i++) {
      if (this.text[i] === '\\') i++;
      else if (this.text[i] === '"') return i;
    }
    return -1;
  }

  private closingSingle(at: number, lineEnd: number): number {
    for (let i = at + 1; i < lineEnd; i++) {
      if (this.text[i] !== "'") continue;
      if (this.text[i + 1] === "'") i++;
      else return i;
    }
    return -1;
  }

  /** A `key:` starting at `at` (plain, single- or double-quoted key), or undefined. */
  private parseKey(at: number, lineEnd: number): KeyToken | undefined {
    const text = this.text;
    const ch = text[at];
    if (ch === '"' || ch === "'") {
      const close = ch === '"' ? this.closingDouble(at, lineEnd) : this.closingSingle(at, lineEnd);
      if (close < 0) return undefined;
      const colon = this.skipSpaces(close + 1, lineEnd);
      if (text[colon] !== ':' || !this.endsToken(colon + 1, lineEnd)) return undefined;
      const raw = text.slice(at, close + 1);
      let key: string;
      if (ch === "'") key = raw.slice(1, -1).replaceAll("''", "'");
      else {
        try {
          key = JSON.parse(raw) as string;
        } catch (err) {
          throw editFailed('a double-quoted key uses an escape the fast locator does not read', [], {}, err);
        }
      }
      return { key, colonEnd: colon + 1 };
    }
    if (ch === undefined || PLAIN_KEY_START_FORBIDDEN.has(ch)) return undefined;
    if ((ch === '-' || ch === '?' || ch === ':') && this.endsToken(at + 1, lineEnd)) return undefined;
    let colon = text.indexOf(':', at);
    while (colon >= 0 && colon < lineEnd && !this.endsToken(colon + 1, lineEnd))
      colon = text.indexOf(':', colon + 1);
    if (colon < 0 || colon >= lineEnd) return undefined;
    const keyText = text.slice(at, colon).trimEnd();
    if (keyText === '' || /[ \t]#/.test(keyText)) return undefined;
    return { key: keyString('plain', keyText), colonEnd: colon + 1 };
  }

  private endsToken(at: number, lineEnd: number): boolean {
    return at >= lineEnd || this.text[at] === ' ' || this.text[at] === '\t';
  }
}
