/**
 * The line table of a source text: where each line starts and ends, its indentation and
 * whether it is blank, a comment or content. Built once per edit in one pass, so that the
 * editor can find lines by offset without scanning the text again.
 */

export const LineKind = { Blank: 0, Comment: 1, Content: 2 } as const;
export type LineKind = (typeof LineKind)[keyof typeof LineKind];

export class SourceLines {
  readonly text: string;
  /** The line ending new lines get: the document's own (CRLF if its first line ends so). */
  readonly eol: string;
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];
  private readonly indents: number[] = [];
  private readonly kinds: LineKind[] = [];

  constructor(text: string) {
    this.text = text;
    const firstBreak = text.indexOf('\n');
    this.eol = firstBreak > 0 && text[firstBreak - 1] === '\r' ? '\r\n' : '\n';
    // A byte-order mark is not part of the first line's indentation.
    let start = text.charCodeAt(0) === 0xfeff ? 1 : 0;
    for (;;) {
      const newline = text.indexOf('\n', start);
      const next = newline < 0 ? text.length : newline + 1;
      let end = newline < 0 ? text.length : newline;
      if (end > start && text.charCodeAt(end - 1) === 13) end--;
      let p = start;
      while (p < end && text.charCodeAt(p) === 32) p++;
      let q = p;
      while (q < end && (text.charCodeAt(q) === 32 || text.charCodeAt(q) === 9)) q++;
      this.starts.push(start);
      this.ends.push(end);
      this.indents.push(p - start);
      this.kinds.push(q === end ? LineKind.Blank : text[q] === '#' ? LineKind.Comment : LineKind.Content);
      if (newline < 0) break;
      start = next;
    }
  }

  get count(): number {
    return this.starts.length;
  }

  /** The 0-based line holding `offset` (a line's end-of-content offset belongs to it). */
  lineOf(offset: number): number {
    let low = 0;
    let high = this.starts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (this.starts[mid]! <= offset) low = mid;
      else high = mid - 1;
    }
    return low;
  }

  start(line: number): number {
    return this.starts[line]!;
  }

  /** Offset after the line's last character, before its line ending. */
  contentEnd(line: number): number {
    return this.ends[line]!;
  }

  /** Offset of the next line's start (or the end of the text for the last line). */
  next(line: number): number {
    return this.starts[line + 1] ?? this.text.length;
  }

  indent(line: number): number {
    return this.indents[line]!;
  }

  kind(line: number): LineKind {
    return this.kinds[line]!;
  }

  /**
   * The 1-based line and column of `offset` (clamped to the text): the one conversion of an
   * offset to a position that errors use. A BOM takes a column, as editors show it.
   */
  position(offset: number): { offset: number; line: number; column: number } {
    const at = Math.max(0, Math.min(offset, this.text.length));
    const line = this.lineOf(at);
    return { offset: at, line: line + 1, column: at - (line === 0 ? 0 : this.start(line)) + 1 };
  }

  column(offset: number): number {
    return offset - this.start(this.lineOf(offset));
  }

  /** The line's text without its line ending. */
  textOf(line: number): string {
    return this.text.slice(this.start(line), this.contentEnd(line));
  }

  /** The whitespace that starts the line. */
  leading(line: number): string {
    const text = this.textOf(line);
    return text.slice(0, text.length - text.trimStart().length);
  }
}
