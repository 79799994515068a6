/**
 * Finding the comments in a piece of YAML text that an edit removes, so that they can be
 * reported rather than dropped silently. A `#` inside a quoted or block scalar is not a
 * comment, so the text is tokenised with the `yaml` lexer rather than searched.
 */
import { yaml } from '../../shared/yaml-lib.js';

export interface FoundComment {
  /** Offset of the `#` in the document source. */
  readonly offset: number;
  /** The comment as written, from `#` to the end of its line. */
  readonly text: string;
}

// Lexer control tokens that stand for no source text.
const DOCUMENT = '\x02';
const FLOW_ERROR_END = '\x18';
const SCALAR = '\x1f';

/** The comments in source[start, end), a range whose first character is at `column`. */
export function commentsIn(source: string, start: number, end: number, column: number): FoundComment[] {
  const slice = source.slice(start, end);
  if (!slice.includes('#')) return [];
  const padded = ' '.repeat(column) + slice;
  const found: FoundComment[] = [];
  try {
    let offset = 0;
    let scalarContent = false;
    for (const token of new (yaml().Lexer)().lex(padded)) {
      if (token === DOCUMENT || token === FLOW_ERROR_END) continue;
      if (token === SCALAR) {
        scalarContent = true;
        continue;
      }
      if (!scalarContent && token.startsWith('#')) {
        found.push({ offset: start + offset - column, text: token.trimEnd() });
      }
      scalarContent = false;
      offset += token.length;
    }
    return found;
  } catch {
    // The lexer does not throw on any input we know of; fall back to whole comment lines.
    return commentLines(source, start, slice);
  }
}

function commentLines(source: string, start: number, slice: string): FoundComment[] {
  const found: FoundComment[] = [];
  let offset = 0;
  for (const line of slice.split('\n')) {
    const trimmed = line.trimStart();
    if (trimmed.startsWith('#')) {
      found.push({ offset: start + offset + line.length - trimmed.length, text: trimmed.trimEnd() });
    }
    offset += line.length + 1;
  }
  return found;
}
