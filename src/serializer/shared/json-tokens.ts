/**
 * The one JSON tokenizer of the serializer: the frame splitter finds where each value of a
 * stream ends with it (`JsonValueScanner`, piece by piece, each piece read once), the decoder
 * counts keys, finds a duplicate key's name and where a text stops being JSON with it, and the
 * tree that the JSON editor and the formatter work on is read with it. It reads one token at a
 * time, with no allocation per token, and never throws: a token that is not JSON comes back as
 * `Invalid` (or as a string with a `problem`), with the offsets a reader needs to report it.
 * A string is always read to its closing quote (or the end), even when something inside it
 * is not JSON, so a lenient reader (the frame splitter) still sees where it ends.
 */

export const JsonTokenType = {
  End: 0,
  BeginObject: 1,
  EndObject: 2,
  BeginArray: 3,
  EndArray: 4,
  Colon: 5,
  Comma: 6,
  String: 7,
  Number: 8,
  /** `true`, `false` or `null`. */
  Literal: 9,
  /** Text that is no JSON token: a stray character, a broken number, part of a literal. */
  Invalid: 10,
} as const;
export type JsonTokenType = (typeof JsonTokenType)[keyof typeof JsonTokenType];

/** What is wrong inside a token, in the words JSON readers report it with. */
export const JsonProblem = {
  None: 0,
  /** A backslash not followed by one of JSON's escapes. */
  Escape: 1,
  /** A character below U+0020 inside a string. */
  Control: 2,
  /** A string that reaches the end of the text. */
  Unclosed: 3,
  /** A `-` or digit that does not start a JSON number. */
  Number: 4,
  /** A character that starts no token (or a literal that is not `true`, `false` or `null`). */
  Unexpected: 5,
} as const;
export type JsonProblem = (typeof JsonProblem)[keyof typeof JsonProblem];

const SPACE = 32;
const TAB = 9;
const LF = 10;
const CR = 13;
const QUOTE = 34;
const BACKSLASH = 92;
/** A blank or an opening bracket: where a value that is neither container nor string ends. */
const BARE_END = /[ \t\r\n{[]/g;
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?/y;
const HEX4 = /[0-9a-fA-F]{4}/y;
const LITERALS = ['true', 'false', 'null'] as const;

export function isJsonSpace(c: number): boolean {
  return c === SPACE || c === LF || c === CR || c === TAB;
}

/** The offset of the first character at or after `from` that is not JSON whitespace. */
export function skipJsonSpace(text: string, from: number): number {
  let i = from;
  while (i < text.length && isJsonSpace(text.charCodeAt(i))) i++;
  return i;
}

/** True when `c` may follow a backslash in a JSON string (`u` is checked with its digits). */
function isSimpleEscape(c: number): boolean {
  // " \ / b f n r t
  return c === 34 || c === 92 || c === 47 || c === 98 || c === 102 || c === 110 || c === 114 || c === 116;
}

/**
 * A cursor over a JSON text. `next()` skips whitespace and reads one token; its kind and
 * range are then in `type`, `start` and `end`. For a token with a problem, `problem` says
 * what, `problemAt` is where it is (the backslash of a bad escape, the control character, the
 * opening quote of an unclosed string, the token's start otherwise) and `stop` is the first
 * character that cannot be read (after the backslash, the end of the text, the first letter
 * that leaves `true`).
 */
export class JsonTokenizer {
  type: JsonTokenType = JsonTokenType.End;
  start = 0;
  end = 0;
  problem: JsonProblem = JsonProblem.None;
  problemAt = 0;
  stop = 0;
  /** For a string that reaches the end of the text: where to go on reading it once more text came. */
  resume = 0;
  /** True when the token just read is a string that reaches the end of the text without its closing quote. */
  unclosed = false;

  constructor(
    readonly text: string,
    /** Offset of the next token. */
    public pos = 0,
  ) {}

  /** Skips whitespace; returns the offset of the next character. */
  skipSpace(): number {
    this.pos = skipJsonSpace(this.text, this.pos);
    return this.pos;
  }

  next(): JsonTokenType {
    const text = this.text;
    const start = this.skipSpace();
    this.start = start;
    this.problem = JsonProblem.None;
    this.unclosed = false;
    if (start >= text.length) return this.token(JsonTokenType.End, start);
    const c = text.charCodeAt(start);
    switch (c) {
      case 123:
        return this.token(JsonTokenType.BeginObject, start + 1);
      case 125:
        return this.token(JsonTokenType.EndObject, start + 1);
      case 91:
        return this.token(JsonTokenType.BeginArray, start + 1);
      case 93:
        return this.token(JsonTokenType.EndArray, start + 1);
      case 58:
        return this.token(JsonTokenType.Colon, start + 1);
      case 44:
        return this.token(JsonTokenType.Comma, start + 1);
      case QUOTE:
        return this.continueString(start, start + 1);
      default:
        if (c === 45 || (c >= 48 && c <= 57)) return this.number(start);
        return this.literal(start);
    }
  }

  private token(type: JsonTokenType, end: number): JsonTokenType {
    this.type = type;
    this.end = end;
    this.pos = end;
    return type;
  }

  private fail(
    type: JsonTokenType,
    problem: JsonProblem,
    end: number,
    at: number,
    stop: number,
  ): JsonTokenType {
    this.problem = problem;
    this.problemAt = at;
    this.stop = stop;
    return this.token(type, end);
  }

  /**
   * A string from its opening quote at `start`, read from `from` (after the quote, or the
   * `resume` of an earlier read of a shorter text) to its closing quote whatever it holds;
   * the first problem (after `from`) is kept.
   */
  continueString(start: number, from: number): JsonTokenType {
    const text = this.text;
    this.start = start;
    this.problem = JsonProblem.None;
    this.unclosed = false;
    let problem: JsonProblem = JsonProblem.None;
    let at = 0;
    let stop = 0;
    let i = from;
    for (; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === QUOTE) {
        if (problem === JsonProblem.None) return this.token(JsonTokenType.String, i + 1);
        return this.fail(JsonTokenType.String, problem, i + 1, at, stop);
      }
      if (c === BACKSLASH) {
        if (problem === JsonProblem.None) {
          const e = text.charCodeAt(i + 1);
          let valid = isSimpleEscape(e);
          if (e === 117) {
            HEX4.lastIndex = i + 2;
            valid = HEX4.test(text);
          }
          if (!valid) {
            problem = JsonProblem.Escape;
            at = i;
            stop = i + 1;
          }
        }
        // The escaped character never ends the string, whatever it is.
        i++;
      } else if (c < 32 && problem === JsonProblem.None) {
        problem = JsonProblem.Control;
        at = stop = i;
      }
    }
    // A backslash at the very end escapes what comes next: read it again then.
    this.resume = i > text.length ? text.length - 1 : text.length;
    this.unclosed = true;
    if (problem !== JsonProblem.None) return this.fail(JsonTokenType.String, problem, text.length, at, stop);
    return this.fail(JsonTokenType.String, JsonProblem.Unclosed, text.length, start, text.length);
  }

  private number(start: number): JsonTokenType {
    NUMBER.lastIndex = start;
    if (NUMBER.test(this.text)) return this.token(JsonTokenType.Number, NUMBER.lastIndex);
    return this.fail(JsonTokenType.Invalid, JsonProblem.Number, start + 1, start, start);
  }

  /** `true`, `false`, `null`, or the longest start of one (at least one character) as Invalid. */
  private literal(start: number): JsonTokenType {
    const text = this.text;
    let matched = 0;
    for (const word of LITERALS) {
      let n = 0;
      while (n < word.length && text.charCodeAt(start + n) === word.charCodeAt(n)) n++;
      if (n === word.length) return this.token(JsonTokenType.Literal, start + n);
      if (n > matched) matched = n;
    }
    return this.fail(
      JsonTokenType.Invalid,
      JsonProblem.Unexpected,
      start + Math.max(1, matched),
      start,
      start + matched,
    );
  }
}

/** The number of keys (strings followed by a colon) written in a JSON text. */
export function countJsonKeys(text: string): number {
  const tokens = new JsonTokenizer(text);
  let count = 0;
  let previous: JsonTokenType = JsonTokenType.End;
  for (let type = tokens.next(); type !== JsonTokenType.End; type = tokens.next()) {
    if (type === JsonTokenType.Colon && previous === JsonTokenType.String) count++;
    previous = type;
  }
  return count;
}

/**
 * The key written at `offset` of a JSON text (a string followed by a colon), unescaped, however
 * long: the tokenizer reads only that string and the colon after it.
 */
export function jsonKeyAt(text: string, offset: number): string | undefined {
  const tokens = new JsonTokenizer(text, offset);
  if (tokens.next() !== JsonTokenType.String || tokens.problem !== JsonProblem.None) return undefined;
  const raw = text.slice(tokens.start, tokens.end);
  if (tokens.next() !== JsonTokenType.Colon) return undefined;
  return raw.includes('\\') ? (JSON.parse(raw) as string) : raw.slice(1, -1);
}

/** What the value being followed is: not started yet, an object or array, a string, or neither. */
const ValueMode = { Start: 0, Container: 1, String: 2, Bare: 3 } as const;
type ValueMode = (typeof ValueMode)[keyof typeof ValueMode];

/**
 * Follows one JSON value, with the tokenizer, through a text that arrives in pieces (the frame
 * splitter's chunks), reading each piece once, to where the value ends: an object or array
 * where its brackets balance (brackets inside strings do not count), a string at its closing
 * quote, anything else (not JSON, but it still needs an end) at the next blank or opening
 * bracket. What is not JSON only moves the end; nothing throws. Between pieces it keeps the
 * nesting depth and a string left open, with an escape cut in two by the piece's end.
 */
export class JsonValueScanner {
  private mode: ValueMode = ValueMode.Start;
  private depth = 0;
  /** The last piece ended inside a string: the next piece goes on with it. */
  private openString = false;
  /** ...right after the backslash of an escape: the next piece's first character is escaped. */
  private escaped = false;

  /**
   * True when the value is an object, an array or a string, which its own last character (a
   * bracket or a quote) ends; any other value ends at the blank or bracket after it.
   */
  get closesItself(): boolean {
    return this.mode === ValueMode.Container || this.mode === ValueMode.String;
  }

  /**
   * Reads the value on through `text` from `from` (the value's first character, not a blank,
   * on the first call; where the last piece ended, 0, on the next ones). Returns the offset
   * after the value's last character, or -1 when the value goes on after `text`.
   */
  scan(text: string, from: number): number {
    if (from >= text.length) return -1;
    const tokens = new JsonTokenizer(text, from);
    if (this.mode === ValueMode.Start) return this.begin(tokens);
    if (this.openString) {
      tokens.continueString(from, this.escaped ? from + 1 : from);
      if (this.stringCut(tokens)) return -1;
      if (this.mode === ValueMode.String) return tokens.end;
    }
    if (this.mode === ValueMode.Bare) return bareEnd(text, from);
    return this.container(tokens);
  }

  /** The value's first token says what it is. */
  private begin(tokens: JsonTokenizer): number {
    const from = tokens.pos;
    const type = tokens.next();
    if (type === JsonTokenType.BeginObject || type === JsonTokenType.BeginArray) {
      this.mode = ValueMode.Container;
      this.depth = 1;
      return this.container(tokens);
    }
    if (type === JsonTokenType.String) {
      this.mode = ValueMode.String;
      return this.stringCut(tokens) ? -1 : tokens.end;
    }
    this.mode = ValueMode.Bare;
    return bareEnd(tokens.text, from + 1);
  }

  /** Tokens of an object or array up to the one that closes it. */
  private container(tokens: JsonTokenizer): number {
    for (;;) {
      const type = tokens.next();
      if (type === JsonTokenType.End) return -1;
      if (type === JsonTokenType.String && this.stringCut(tokens)) return -1;
      if (type === JsonTokenType.BeginObject || type === JsonTokenType.BeginArray) this.depth++;
      else if (type === JsonTokenType.EndObject || type === JsonTokenType.EndArray) {
        this.depth--;
        if (this.depth === 0) return tokens.end;
      }
    }
  }

  /** True when the string just read reaches the end of the piece (it goes on in the next one). */
  private stringCut(tokens: JsonTokenizer): boolean {
    this.openString = tokens.unclosed;
    // A lone backslash at the end: `resume` points back at it.
    this.escaped = tokens.unclosed && tokens.resume < tokens.text.length;
    return tokens.unclosed;
  }
}

/** Where a value that is neither an object, an array nor a string ends in `text`, or -1. */
function bareEnd(text: string, from: number): number {
  BARE_END.lastIndex = from;
  return BARE_END.exec(text)?.index ?? -1;
}
