/** Replacements of ranges of a source text, collected by an editor and applied in one pass. */
import { editFailed } from './errors.js';

export interface Splice {
  start: number;
  end: number;
  text: string;
  /** The order the editor made it in: of two insertions at one offset, the earlier comes first. */
  order: number;
}

/** `source` with every splice applied; EditFailed when two of them overlap. */
export function applySplices(source: string, splices: readonly Splice[]): string {
  const sorted = [...splices].sort(
    (x, y) => x.start - y.start || Number(x.end > x.start) - Number(y.end > y.start) || x.order - y.order,
  );
  const parts: string[] = [];
  let at = 0;
  for (const splice of sorted) {
    if (splice.start < at) throw editFailed('two changes overlap in the text', [], { offset: splice.start });
    parts.push(source.slice(at, splice.start), splice.text);
    at = splice.end;
  }
  parts.push(source.slice(at));
  return parts.join('');
}
