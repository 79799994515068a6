/**
 * Writes a value as a hand-written-looking YAML document for the editor's fuzz target: random
 * quoting, indentation and list style, and numbered comments (`# c7`) above and after lines.
 * Every line and comment remembers the field it belongs to, so the target can tell which ones
 * an edit must leave alone.
 */
import { isAmbiguousPlainString } from '../../src/serializer/index.js';

export type Path = ReadonlyArray<string | number>;

export interface OwnedLine {
  text: string;
  /** The field the line is about (for a comment line: the pair or item below it). */
  owner: Path;
}

export interface CommentedYaml {
  lines: OwnedLine[];
  /** Comment marker (`# c7`) -> the field it belongs to. */
  comments: Map<string, Path>;
}

/** A small deterministic random source, so that one generated seed gives one document. */
export class Dice {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0 || 1;
  }
  next(): number {
    // xorshift32
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x >>> 0;
    return this.state / 0x1_0000_0000;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

const PLAIN_SAFE = /^[A-Za-z_/][A-Za-z0-9_./-]*$/;
const SINGLE_SAFE = /^[\x20-\x7e\u00a0-\u2027\u202a-\ud7ff\ue000-\ufeff\u{10000}-\u{10ffff}]*$/u;
const DOUBLE_ESCAPE = /[\u007f-\u009f\u2028\u2029\ufeff\ufffe\uffff]/g;
const BLOCK_LINE = /^(?:[\x21-\x7e][\x20-\x7e]*)?$/;

function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function scalarText(value: unknown, dice: Dice): string {
  if (value === null) return dice.chance(0.5) ? 'null' : '~';
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  const s = String(value);
  if (PLAIN_SAFE.test(s) && !isAmbiguousPlainString(s) && dice.chance(0.6)) return s;
  if (SINGLE_SAFE.test(s) && dice.chance(0.5)) return `'${s.replaceAll("'", "''")}'`;
  return doubleQuoted(s);
}

function doubleQuoted(s: string): string {
  return JSON.stringify(s).replace(
    DOUBLE_ESCAPE,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

function keyText(key: string): string {
  return PLAIN_SAFE.test(key) && !isAmbiguousPlainString(key) ? key : doubleQuoted(key);
}

/** Writes `value` (a map) as block YAML with comments numbered `# <prefix><n>`. */
export function writeCommentedYaml(
  value: Record<string, unknown>,
  seed: number,
  prefix = 'c',
): CommentedYaml {
  const dice = new Dice(seed);
  const step = dice.chance(0.7) ? 2 : 4;
  const compactLists = dice.chance(0.6);
  const out: CommentedYaml = { lines: [], comments: new Map() };
  let counter = 0;
  const comment = (owner: Path): string => {
    const marker = `# ${prefix}${counter++}`;
    out.comments.set(marker, owner);
    return marker;
  };
  const trailing = (owner: Path): string => (dice.chance(0.25) ? ` ${comment(owner)}` : '');
  const above = (pad: string, owner: Path): void => {
    if (dice.chance(0.2)) out.lines.push({ text: pad + comment(owner), owner });
  };

  /** The inline form of a value, or undefined when it needs lines of its own. */
  const inline = (v: unknown): string | undefined => {
    if (Array.isArray(v)) return v.length === 0 ? '[]' : undefined;
    if (isMap(v)) return Object.keys(v).length === 0 ? '{}' : undefined;
    return scalarText(v, dice);
  };

  // `first` is the prefix of the first line ("- " items put the first pair on the dash line).
  const writeMap = (map: Record<string, unknown>, indent: number, path: Path, first?: string): void => {
    const pad = ' '.repeat(indent);
    Object.entries(map).forEach(([key, v], index) => {
      const at = [...path, key];
      const lead = index === 0 && first !== undefined ? first : pad;
      if (lead === pad) above(pad, at);
      writeEntry(`${lead}${keyText(key)}:`, v, indent, at);
    });
  };

  const writeSeq = (list: readonly unknown[], indent: number, path: Path, first?: string): void => {
    const pad = ' '.repeat(indent);
    list.forEach((v, index) => {
      const at = [...path, index];
      const lead = index === 0 && first !== undefined ? `${first}- ` : `${pad}- `;
      if (!(index === 0 && first !== undefined)) above(pad, at);
      const simple = inline(v);
      if (simple !== undefined) {
        out.lines.push({ text: `${lead}${simple}${trailing(at)}`, owner: at });
      } else if (isMap(v)) {
        writeMap(v, indent + 2, at, lead);
      } else {
        writeSeq(v as unknown[], indent + 2, at, lead);
      }
    });
  };

  const writeEntry = (head: string, v: unknown, indent: number, at: Path): void => {
    if (
      typeof v === 'string' &&
      v.includes('\n') &&
      !v.endsWith('\n') &&
      v.split('\n').every((l) => BLOCK_LINE.test(l))
    ) {
      if (v.split('\n')[0] !== '' && dice.chance(0.5)) {
        out.lines.push({ text: `${head} |-`, owner: at });
        const inner = ' '.repeat(indent + step);
        for (const line of v.split('\n'))
          out.lines.push({ text: line === '' ? '' : inner + line, owner: at });
        return;
      }
    }
    const simple = inline(v);
    if (simple !== undefined) {
      out.lines.push({ text: `${head} ${simple}${trailing(at)}`, owner: at });
    } else if (isMap(v)) {
      out.lines.push({ text: `${head}${trailing(at)}`, owner: at });
      writeMap(v, indent + step, at);
    } else {
      out.lines.push({ text: `${head}${trailing(at)}`, owner: at });
      writeSeq(v as unknown[], compactLists ? indent : indent + step, at);
    }
  };

  if (dice.chance(0.3)) out.lines.push({ text: comment([]), owner: [] });
  writeMap(value, 0, []);
  return out;
}
